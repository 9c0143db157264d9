#include "p2p/protocols/dcutr/messages.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::dcutr {
namespace {

Multiaddr ma(const std::string& text) { return Multiaddr::parse(text).value(); }

TEST(DcutrMessages, RoundTrip) {
  HolePunch connect{HolePunch::Type::connect, {ma("/ip4/198.51.100.1/tcp/4001"), ma("/ip6/2001:db8::1/tcp/4001")}};
  auto decoded = decode(encode(connect));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, connect);
  HolePunch sync{HolePunch::Type::sync, {}};
  EXPECT_EQ(decode(encode(sync)).value(), sync);
  // Field 1 = 300 (SYNC): 08 ac 02.
  Bytes wire{0x08, 0xac, 0x02};
  EXPECT_EQ(encode(sync), wire);
}

TEST(DcutrMessages, RefusesWhatIsMalformedAndDropsUnknownAddresses) {
  EXPECT_FALSE(decode(Bytes{0x08, 0x07}));             // type 7: no such type
  EXPECT_FALSE(decode(Bytes{0x12, 0x00}));             // no type at all
  EXPECT_FALSE(decode(Bytes{0xff, 0xff, 0xff}));       // not protobuf
  EXPECT_FALSE(decode(Bytes(kMaxMessageSize + 1, 0)));  // too large
  HolePunch many{HolePunch::Type::connect, {}};
  for (int i = 0; i < 17; ++i) many.addrs.push_back(ma("/ip4/192.0.2.1/tcp/" + std::to_string(1000 + i)));
  auto refused = decode(encode(many));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("addresses"), std::string::npos);
  // An address we cannot parse is dropped, the message kept.
  Bytes wire = encode(HolePunch{HolePunch::Type::connect, {ma("/ip4/192.0.2.1/tcp/1")}});
  wire.insert(wire.end(), {0x12, 0x02, 0xff, 0xff});
  auto lenient = decode(wire);
  ASSERT_TRUE(lenient);
  EXPECT_EQ(lenient->addrs.size(), 1u);
}

TEST(DcutrMessages, PunchableKeepsDirectTcpAddressesOnce) {
  std::vector<Multiaddr> offered{
      ma("/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWGsUPE814N8ons6XNM8C7iuEneGBTDxW92NazvBP4eXiu"),
      ma("/ip4/198.51.100.1/tcp/4001"),
      ma("/ip4/127.0.0.1/tcp/4001"),
      ma("/ip4/0.0.0.0/tcp/4001"),
      ma("/ip4/203.0.113.10/tcp/4001/p2p/12D3KooWGsUPE814N8ons6XNM8C7iuEneGBTDxW92NazvBP4eXiu/p2p-circuit"),
      ma("/ip4/198.51.100.1/udp/4001/quic-v1"),
      ma("/dns4/example.com/tcp/4001"),
      ma("/ip4/10.0.1.10/tcp/4001")};
  auto kept = punchable(offered);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].to_string(), "/ip4/198.51.100.1/tcp/4001");
  EXPECT_EQ(kept[1].to_string(), "/ip4/10.0.1.10/tcp/4001");
  // Loopback only when nothing else is offered.
  auto local = punchable({ma("/ip4/127.0.0.1/tcp/4001")});
  ASSERT_EQ(local.size(), 1u);
}

}  // namespace
}  // namespace stargate::p2p::dcutr
