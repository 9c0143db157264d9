#include "p2p/protocols/gossipsub/messages.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::gossipsub {
namespace {

Rpc full_rpc() {
  test::Identity author;
  Rpc rpc;
  rpc.subscriptions = {SubOpt{true, "a"}, SubOpt{false, "b"}};
  rpc.publish.push_back(test::signed_message(author, "a", "hello", 7));
  rpc.ihave.push_back(IHave{"a", {to_bytes("id1"), to_bytes("id2")}});
  rpc.iwant.push_back(IWant{{to_bytes("id3")}});
  rpc.graft.push_back(Graft{"a"});
  rpc.prune.push_back(Prune{"b", {author.id}, 60});
  return rpc;
}

TEST(GossipsubMessages, RoundTrip) {
  const Rpc rpc = full_rpc();
  auto decoded = decode(encode(rpc));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, rpc);
}

TEST(GossipsubMessages, EmptyRpcRoundTrips) {
  auto decoded = decode(encode(Rpc{}));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

TEST(GossipsubMessages, RejectsGarbageAndOversizedBodies) {
  const Bytes garbage{0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(decode(garbage));
  Limits small;
  small.max_rpc_size = 16;
  EXPECT_FALSE(decode(encode(full_rpc()), small));
}

TEST(GossipsubMessages, EveryTruncationIsRejectedOrDecodesToLess) {
  // A cut anywhere must never crash nor yield more than the whole.
  const Rpc whole = full_rpc();
  const Bytes body = encode(whole);
  for (std::size_t n = 0; n < body.size(); ++n) {
    auto decoded = decode(BytesView(body.data(), n));
    if (decoded) {
      EXPECT_NE(*decoded, whole) << "cut at " << n;
    }
  }
}

TEST(GossipsubMessages, EnforcesCountLimits) {
  Rpc rpc;
  for (int i = 0; i < 20; ++i) rpc.ihave.push_back(IHave{"t", {to_bytes("id" + std::to_string(i))}});
  Limits limits;
  limits.max_message_ids = 10;
  EXPECT_FALSE(decode(encode(rpc), limits));
  limits = {};
  limits.max_control_entries = 5;
  EXPECT_FALSE(decode(encode(rpc), limits));
  limits = {};
  EXPECT_TRUE(decode(encode(rpc), limits));

  Rpc subs;
  for (int i = 0; i < 5; ++i) subs.subscriptions.push_back(SubOpt{true, "t" + std::to_string(i)});
  limits.max_subscriptions = 4;
  EXPECT_FALSE(decode(encode(subs), limits));
}

TEST(GossipsubMessages, RejectsEmptyAndOversizedTopics) {
  Rpc rpc;
  rpc.graft.push_back(Graft{""});
  EXPECT_FALSE(decode(encode(rpc)));
  Rpc big;
  big.subscriptions.push_back(SubOpt{true, std::string(2000, 'x')});
  EXPECT_FALSE(decode(encode(big)));
}

TEST(GossipsubMessages, DropsUnparsablePxPeers) {
  test::Identity peer;
  Rpc rpc;
  rpc.prune.push_back(Prune{"t", {peer.id}, std::nullopt});
  Bytes body = encode(rpc);
  // Corrupt the multihash code of the PX peer id (first byte of the peer id inside the body).
  auto pos = std::search(body.begin(), body.end(), peer.id.bytes().begin(), peer.id.bytes().end());
  ASSERT_NE(pos, body.end());
  *pos = 0x7f;
  auto decoded = decode(body);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->prune.size(), 1u);
  EXPECT_TRUE(decoded->prune[0].peers.empty());
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
