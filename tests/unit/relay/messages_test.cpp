#include "p2p/protocols/relay/messages.hpp"

#include "base/varint.hpp"
#include "circuit.pb.h"
#include "crypto/ed25519.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::relay {
namespace {

crypto::PeerId some_peer() { return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key()); }

Multiaddr addr(std::string_view text) { return Multiaddr::parse(text).value(); }

template <class Message>
Bytes serialize(const Message& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

TEST(RelayMessages, StatusCodesAreTheSpecs) {
  EXPECT_EQ(static_cast<int>(Status::ok), 100);
  EXPECT_EQ(static_cast<int>(Status::reservation_refused), 200);
  EXPECT_EQ(static_cast<int>(Status::resource_limit_exceeded), 201);
  EXPECT_EQ(static_cast<int>(Status::permission_denied), 202);
  EXPECT_EQ(static_cast<int>(Status::connection_failed), 203);
  EXPECT_EQ(static_cast<int>(Status::no_reservation), 204);
  EXPECT_EQ(static_cast<int>(Status::malformed_message), 400);
  EXPECT_EQ(static_cast<int>(Status::unexpected_message), 401);
  EXPECT_EQ(static_cast<int>(pb::circuit::NO_RESERVATION), 204);
  EXPECT_EQ(to_string(Status::no_reservation), "NO_RESERVATION");
  EXPECT_EQ(status_from_wire(201), Status::resource_limit_exceeded);
  EXPECT_EQ(status_from_wire(0), std::nullopt);
  EXPECT_EQ(status_from_wire(205), std::nullopt);
}

TEST(RelayMessages, HopRoundTrips) {
  const auto peer = some_peer();
  const HopMessage reserve = hop_reserve();
  EXPECT_EQ(decode_hop(encode(reserve)).value(), reserve);

  const HopMessage connect = hop_connect(PeerInfo{peer, {addr("/ip4/192.0.2.1/tcp/4001")}});
  EXPECT_EQ(decode_hop(encode(connect)).value(), connect);

  HopMessage ok = hop_status(Status::ok);
  ok.reservation = Reservation{1'700'000'000, {addr("/ip4/198.51.100.7/tcp/4001/p2p/" + peer.to_string())}, Bytes{1, 2, 3}};
  ok.limit = Limit{120, 131072};
  EXPECT_EQ(decode_hop(encode(ok)).value(), ok);

  HopMessage half_limit = hop_status(Status::ok);
  half_limit.limit = Limit{std::nullopt, 42};
  EXPECT_EQ(decode_hop(encode(half_limit)).value(), half_limit);

  for (auto s : {Status::reservation_refused, Status::resource_limit_exceeded, Status::permission_denied,
                 Status::connection_failed, Status::no_reservation, Status::malformed_message,
                 Status::unexpected_message}) {
    EXPECT_EQ(decode_hop(encode(hop_status(s))).value().status, s);
  }
}

TEST(RelayMessages, StopRoundTrips) {
  const StopMessage connect = stop_connect(PeerInfo{some_peer(), {}}, Limit{120, 131072});
  EXPECT_EQ(decode_stop(encode(connect)).value(), connect);
  const StopMessage unlimited = stop_connect(PeerInfo{some_peer(), {addr("/ip6/::1/tcp/1")}}, std::nullopt);
  EXPECT_EQ(decode_stop(encode(unlimited)).value(), unlimited);
  const StopMessage status = stop_status(Status::connection_failed);
  EXPECT_EQ(decode_stop(encode(status)).value(), status);
}

TEST(RelayMessages, MatchesTheProtobufWireForm) {
  // A CONNECT as another implementation would build it from the schema.
  const auto peer = some_peer();
  pb::circuit::HopMessage msg;
  msg.set_type(pb::circuit::HopMessage::CONNECT);
  msg.mutable_peer()->set_id(peer.bytes().data(), peer.bytes().size());
  auto decoded = decode_hop(serialize(msg)).value();
  EXPECT_EQ(decoded.type, HopMessage::Type::connect);
  EXPECT_EQ(decoded.peer->id, peer);
  EXPECT_EQ(encode(decoded), serialize(msg));
  // RESERVE with type 0 is written explicitly: proto2 keeps presence.
  EXPECT_EQ(encode(hop_reserve()), (Bytes{0x08, 0x00}));
}

TEST(RelayMessages, RejectsMalformed) {
  EXPECT_FALSE(decode_hop(Bytes{0xff, 0xff, 0xff}));  // not protobuf
  EXPECT_FALSE(decode_hop(Bytes{}));                  // no type
  EXPECT_FALSE(decode_stop(Bytes{}));
  EXPECT_FALSE(decode_hop(Bytes{0x08, 0x07}));  // unknown type
  EXPECT_FALSE(decode_stop(Bytes{0x08, 0x02}));

  pb::circuit::HopMessage connect;
  connect.set_type(pb::circuit::HopMessage::CONNECT);
  EXPECT_FALSE(decode_hop(serialize(connect))) << "CONNECT without a peer";
  connect.mutable_peer();
  EXPECT_FALSE(decode_hop(serialize(connect))) << "peer without an id";
  connect.mutable_peer()->set_id("not a peer id");
  auto bad = decode_hop(serialize(connect));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("peer id"), std::string::npos);

  pb::circuit::HopMessage status;
  status.set_type(pb::circuit::HopMessage::STATUS);
  EXPECT_FALSE(decode_hop(serialize(status))) << "STATUS without a status";
  // An undefined status code: written by hand, since the closed enum will not take it.
  Bytes unknown_status{0x08, 0x02, 0x28, 0x96, 0x01};  // type=STATUS, status=150
  EXPECT_FALSE(decode_hop(unknown_status));

  pb::circuit::StopMessage stop;
  stop.set_type(pb::circuit::StopMessage::CONNECT);
  EXPECT_FALSE(decode_stop(serialize(stop))) << "stop CONNECT without a peer";
  stop.set_type(pb::circuit::StopMessage::STATUS);
  EXPECT_FALSE(decode_stop(serialize(stop))) << "stop STATUS without a status";

  pb::circuit::HopMessage reservation;
  reservation.set_type(pb::circuit::HopMessage::STATUS);
  reservation.set_status(pb::circuit::OK);
  reservation.mutable_reservation()->add_addrs("x");
  EXPECT_FALSE(decode_hop(serialize(reservation))) << "reservation without an expiry";
}

TEST(RelayMessages, BoundsSizeAndAddressCount) {
  const auto peer = some_peer();
  const auto a = addr("/ip4/192.0.2.1/tcp/4001");
  PeerInfo info{peer, std::vector<Multiaddr>(kMaxAddrs, a)};
  EXPECT_TRUE(decode_hop(encode(hop_connect(info))));
  info.addrs.push_back(a);
  auto too_many = decode_hop(encode(hop_connect(info)));
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("addresses"), std::string::npos);

  HopMessage ok = hop_status(Status::ok);
  ok.reservation = Reservation{1, std::vector<Multiaddr>(kMaxAddrs + 1, a), {}};
  EXPECT_FALSE(decode_hop(encode(ok)));
  ok.reservation->addrs.resize(1);
  ok.reservation->voucher = Bytes(kMaxMessageSize, 0x55);
  auto too_big = decode_hop(encode(ok));
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("at most 4096"), std::string::npos);
}

TEST(RelayMessages, DropsAddressesItCannotParse) {
  const auto peer = some_peer();
  pb::circuit::StopMessage stop;
  stop.set_type(pb::circuit::StopMessage::CONNECT);
  stop.mutable_peer()->set_id(peer.bytes().data(), peer.bytes().size());
  stop.mutable_peer()->add_addrs("\xff\xff\xff");
  const auto good = addr("/ip4/192.0.2.1/tcp/4001");
  stop.mutable_peer()->add_addrs(good.bytes().data(), good.bytes().size());
  auto decoded = decode_stop(serialize(stop)).value();
  EXPECT_EQ(decoded.peer->addrs, std::vector<Multiaddr>{good});
}

TEST(RelayMessages, Framing) {
  const Bytes body = encode(hop_reserve());
  const Bytes wire = frame(body);
  ASSERT_EQ(wire.size(), body.size() + 1);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto partial = take_frame(BytesView(wire).first(n));
    ASSERT_TRUE(partial);
    EXPECT_FALSE(*partial) << "needs more than " << n << " bytes";
  }
  Bytes two = wire;
  append(two, wire);
  auto first = take_frame(two).value();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->consumed, wire.size());
  EXPECT_EQ(Bytes(first->body.begin(), first->body.end()), body);

  Bytes huge;
  append_uvarint(huge, kMaxMessageSize + 1);
  EXPECT_FALSE(take_frame(huge)) << "refused from the prefix alone";
  Bytes exact;
  append_uvarint(exact, kMaxMessageSize);
  auto waiting = take_frame(exact);
  ASSERT_TRUE(waiting);
  EXPECT_FALSE(*waiting);
  EXPECT_FALSE(take_frame(Bytes{0x80, 0x00})) << "non-minimal varint";
}

}  // namespace
}  // namespace stargate::p2p::relay
