#include "p2p/protocols/kad/messages.hpp"

#include "kad.pb.h"
#include "unit/peers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::kad {
namespace {

using test::addr;
using test::some_peer;

TEST(KadMessages, RoundTrip) {
  Message m;
  m.type = MessageType::get_providers;
  m.key = Bytes{0x12, 0x20, 1, 2, 3};
  m.record = Record{Bytes{1}, Bytes{2, 3}};
  m.closer_peers.push_back(PeerEntry{some_peer(), {addr("/ip4/1.2.3.4/tcp/4001")}});
  m.provider_peers.push_back(PeerEntry{some_peer(), {}});
  auto back = decode(encode(m));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->type, m.type);
  EXPECT_EQ(back->key, m.key);
  EXPECT_EQ(back->record, m.record);
  EXPECT_EQ(back->closer_peers, m.closer_peers);
  EXPECT_EQ(back->provider_peers, m.provider_peers);
  EXPECT_EQ(to_string(back->type), "GET_PROVIDERS");
}

TEST(KadMessages, PutValueIsTypeZeroAndStillDecodes) {
  // proto3 leaves type 0 off the wire: an empty message is a PUT_VALUE with no key.
  auto m = decode(Bytes{});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, MessageType::put_value);
}

TEST(KadMessages, HostileInputIsRefusedOrSanitised) {
  EXPECT_FALSE(decode(Bytes{0xff, 0xff, 0xff}));  // not protobuf
  EXPECT_FALSE(decode(Bytes(kMaxMessageSize + 1, 0)));
  pb::kad::Message bad_type;
  bad_type.set_type(static_cast<pb::kad::Message::MessageType>(42));
  std::string wire = bad_type.SerializeAsString();
  EXPECT_FALSE(decode(as_bytes(wire)));

  pb::kad::Message big_key;
  big_key.set_type(pb::kad::Message::FIND_NODE);
  big_key.set_key(std::string(kMaxKeySize + 1, 'k'));
  wire = big_key.SerializeAsString();
  EXPECT_FALSE(decode(as_bytes(wire)));

  pb::kad::Message many;
  many.set_type(pb::kad::Message::FIND_NODE);
  for (std::size_t i = 0; i <= kMaxPeersPerList; ++i) many.add_closerpeers()->set_id("x");
  wire = many.SerializeAsString();
  EXPECT_FALSE(decode(as_bytes(wire)));

  // Garbage peer IDs and addresses are dropped, the rest kept.
  pb::kad::Message mixed;
  mixed.set_type(pb::kad::Message::FIND_NODE);
  mixed.add_closerpeers()->set_id("not a peer id");
  auto good = some_peer();
  auto* p = mixed.add_closerpeers();
  p->set_id(std::string(good.bytes().begin(), good.bytes().end()));
  p->add_addrs("garbage");
  auto a = addr("/ip4/5.6.7.8/tcp/1");
  p->add_addrs(std::string(a.bytes().begin(), a.bytes().end()));
  for (std::size_t i = 0; i < kMaxAddrsPerPeer + 5; ++i) p->add_addrs(std::string(a.bytes().begin(), a.bytes().end()));
  wire = mixed.SerializeAsString();
  auto decoded = decode(as_bytes(wire));
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->closer_peers.size(), 1u);
  EXPECT_EQ(decoded->closer_peers[0].id, good);
  EXPECT_EQ(decoded->closer_peers[0].addrs.size(), kMaxAddrsPerPeer);
}

}  // namespace
}  // namespace stargate::p2p::kad
