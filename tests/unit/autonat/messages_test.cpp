#include "p2p/protocols/autonat/messages.hpp"

#include "helpers.hpp"

#include "autonat.pb.h"

#include <gtest/gtest.h>

namespace stargate::p2p::autonat {
namespace {

using test::addr;
using test::some_peer;

Bytes serialize(const pb::autonat::Message& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

TEST(AutonatMessages, StatusCodesAreTheSpecs) {
  EXPECT_EQ(static_cast<int>(Status::ok), 0);
  EXPECT_EQ(static_cast<int>(Status::dial_error), 100);
  EXPECT_EQ(static_cast<int>(Status::dial_refused), 101);
  EXPECT_EQ(static_cast<int>(Status::bad_request), 200);
  EXPECT_EQ(static_cast<int>(Status::internal_error), 300);
  EXPECT_EQ(static_cast<int>(pb::autonat::Message::E_DIAL_REFUSED), 101);
  EXPECT_EQ(to_string(Status::dial_refused), "E_DIAL_REFUSED");
  EXPECT_EQ(status_from_wire(200), Status::bad_request);
  EXPECT_EQ(status_from_wire(1), std::nullopt);
}

TEST(AutonatMessages, DialRoundTrips) {
  DialRequest request{some_peer(), {addr("/ip4/1.2.3.4/tcp/4001"), addr("/ip6/2001:4860::1/tcp/4002")}};
  auto decoded = decode_dial(encode(request));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, request);
  // No peer id, no addresses: still a valid DIAL (the spec makes both optional).
  DialRequest bare;
  auto decoded_bare = decode_dial(encode(bare));
  ASSERT_TRUE(decoded_bare);
  EXPECT_EQ(*decoded_bare, bare);
}

TEST(AutonatMessages, DialResponseRoundTrips) {
  DialResponse ok{Status::ok, "", addr("/ip4/1.2.3.4/tcp/4001")};
  EXPECT_EQ(decode_dial_response(encode(ok)).value(), ok);
  DialResponse refused{Status::dial_refused, "too many dials", std::nullopt};
  EXPECT_EQ(decode_dial_response(encode(refused)).value(), refused);
}

TEST(AutonatMessages, WireFormIsTheSpecs) {
  // Built with the generated classes of the spec's schema, decoded by ours, and the reverse.
  pb::autonat::Message msg;
  msg.set_type(pb::autonat::Message::DIAL);
  const auto peer = some_peer();
  msg.mutable_dial()->mutable_peer()->set_id(peer.bytes().data(), peer.bytes().size());
  const auto a = addr("/ip4/5.6.7.8/tcp/1");
  msg.mutable_dial()->mutable_peer()->add_addrs(a.bytes().data(), a.bytes().size());
  auto decoded = decode_dial(serialize(msg));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->peer, peer);
  EXPECT_EQ(decoded->addrs, std::vector<Multiaddr>{a});

  pb::autonat::Message back;
  auto bytes = encode(DialResponse{Status::dial_error, "dial failed", std::nullopt});
  ASSERT_TRUE(back.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
  EXPECT_EQ(back.type(), pb::autonat::Message::DIAL_RESPONSE);
  EXPECT_EQ(back.dialresponse().status(), pb::autonat::Message::E_DIAL_ERROR);
  EXPECT_EQ(back.dialresponse().statustext(), "dial failed");
}

TEST(AutonatMessages, RefusesWhatItCannotTrust) {
  EXPECT_FALSE(decode_dial(Bytes(kMaxMessageSize + 1, 0)));
  EXPECT_FALSE(decode_dial(Bytes{0xff, 0xff}));
  // The wrong type, or none.
  EXPECT_FALSE(decode_dial(encode(DialResponse{Status::ok, "", std::nullopt})));
  EXPECT_FALSE(decode_dial_response(encode(DialRequest{})));
  pb::autonat::Message no_type;
  no_type.mutable_dial()->mutable_peer();
  EXPECT_FALSE(decode_dial(serialize(no_type)));
  // A DIAL without peer info.
  pb::autonat::Message no_peer;
  no_peer.set_type(pb::autonat::Message::DIAL);
  EXPECT_FALSE(decode_dial(serialize(no_peer)));
  // A bad peer id.
  pb::autonat::Message bad_id;
  bad_id.set_type(pb::autonat::Message::DIAL);
  bad_id.mutable_dial()->mutable_peer()->set_id("nonsense");
  EXPECT_FALSE(decode_dial(serialize(bad_id)));
  // Too many addresses.
  DialRequest many;
  for (std::size_t i = 0; i <= kMaxAddrs; ++i) many.addrs.push_back(addr("/ip4/1.2.3.4/tcp/" + std::to_string(i + 1)));
  auto too_many = decode_dial(encode(many));
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("addresses"), std::string::npos);
  // A response without a status, or with one the spec does not define.
  pb::autonat::Message no_status;
  no_status.set_type(pb::autonat::Message::DIAL_RESPONSE);
  no_status.mutable_dialresponse();
  EXPECT_FALSE(decode_dial_response(serialize(no_status)));
  Bytes unknown_status = encode(DialResponse{Status::ok, "", std::nullopt});
  // DialResponse is field 3 (0x1a), its status field 1 (0x08): turn 0 into 7.
  ASSERT_EQ(unknown_status.back(), 0x00);
  unknown_status.back() = 0x07;
  EXPECT_FALSE(decode_dial_response(unknown_status));
  // A status text over the bound.
  pb::autonat::Message long_text;
  long_text.set_type(pb::autonat::Message::DIAL_RESPONSE);
  long_text.mutable_dialresponse()->set_status(pb::autonat::Message::OK);
  long_text.mutable_dialresponse()->set_statustext(std::string(kMaxStatusText + 1, 'x'));
  EXPECT_FALSE(decode_dial_response(serialize(long_text)));
}

TEST(AutonatMessages, UnparsableAddressesAreDropped) {
  pb::autonat::Message msg;
  msg.set_type(pb::autonat::Message::DIAL);
  msg.mutable_dial()->mutable_peer()->add_addrs(std::string("\xff\xff\xff", 3));
  const auto good = addr("/ip4/1.2.3.4/tcp/5");
  msg.mutable_dial()->mutable_peer()->add_addrs(good.bytes().data(), good.bytes().size());
  auto decoded = decode_dial(serialize(msg));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->addrs, std::vector<Multiaddr>{good});
}

}  // namespace
}  // namespace stargate::p2p::autonat
