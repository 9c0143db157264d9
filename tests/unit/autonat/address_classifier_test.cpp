#include "p2p/protocols/autonat/address_classifier.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::autonat {
namespace {

using test::addr;

TEST(AddressClassifier, PrivateAndSpecialRangesAreNotPublic) {
  AddressClassifier c;
  for (const char* text : {"/ip4/127.0.0.1/tcp/1", "/ip4/10.1.2.3/tcp/1", "/ip4/172.20.0.1/tcp/1",
                           "/ip4/192.168.1.1/tcp/1", "/ip4/169.254.0.5/tcp/1", "/ip4/100.64.0.1/tcp/1",
                           "/ip4/192.0.2.7/tcp/1", "/ip4/198.51.100.7/tcp/1", "/ip4/203.0.113.7/tcp/1",
                           "/ip4/0.0.0.0/tcp/1", "/ip4/224.0.0.1/tcp/1", "/ip6/::1/tcp/1", "/ip6/fe80::1/tcp/1",
                           "/ip6/fd00::1/tcp/1", "/ip6/2001:db8::1/tcp/1", "/ip6/::ffff:10.0.0.1/tcp/1"})
    EXPECT_FALSE(c.is_public(addr(text))) << text;
  for (const char* text : {"/ip4/1.2.3.4/tcp/1", "/ip4/8.8.8.8", "/ip4/100.128.0.1/tcp/1", "/ip4/172.32.0.1/tcp/1",
                           "/ip6/2001:4860::8888/tcp/1", "/ip6/::ffff:8.8.8.8/tcp/1"})
    EXPECT_TRUE(c.is_public(addr(text))) << text;
  // Not IP addresses at all.
  EXPECT_FALSE(c.is_public(addr("/dns4/example.com/tcp/1")));
  EXPECT_FALSE(c.is_public(addr("/ip4/1.2.3.4/tcp/1/p2p-circuit")));
}

TEST(AddressClassifier, TreatAsPublicCoversRanges) {
  AddressClassifier c(Cidr::parse_list("198.51.100.0/24, 203.0.113.0/24,127.0.0.0/8").value());
  EXPECT_TRUE(c.is_public(addr("/ip4/198.51.100.9/tcp/1")));
  EXPECT_TRUE(c.is_public(addr("/ip4/127.0.0.1/tcp/1")));
  EXPECT_FALSE(c.is_public(addr("/ip4/192.0.2.1/tcp/1")));
  EXPECT_FALSE(c.is_public(addr("/ip4/10.0.0.1/tcp/1")));
}

TEST(AddressClassifier, CidrParsing) {
  auto a = Cidr::parse("10.1.2.3/8").value();
  EXPECT_EQ(a.to_string(), "10.0.0.0/8");  // host bits cleared
  EXPECT_EQ(Cidr::parse("1.2.3.4").value().to_string(), "1.2.3.4/32");
  EXPECT_EQ(Cidr::parse("2001:db8::/32").value().to_string(), "2001:db8::/32");
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0").value().contains(*ip_of(addr("/ip4/9.9.9.9"))));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0").value().contains(*ip_of(addr("/ip6/::2"))));
  for (const char* bad : {"", "1.2.3/8", "1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/x", "host/8"})
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  EXPECT_EQ(Cidr::parse_list(" , 1.2.3.0/24,,").value().size(), 1u);
  EXPECT_FALSE(Cidr::parse_list("1.2.3.0/24,nonsense"));
}

TEST(AddressClassifier, IpAndPortOfAnAddress) {
  EXPECT_EQ(tcp_port_of(addr("/ip4/1.2.3.4/tcp/4001")), 4001);
  EXPECT_EQ(tcp_port_of(addr("/ip6/::1/tcp/65535/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")), 65535);
  EXPECT_EQ(tcp_port_of(addr("/ip4/1.2.3.4/udp/4001/quic-v1")), std::nullopt);
  EXPECT_EQ(tcp_port_of(addr("/dns4/example.com/tcp/1")), std::nullopt);
  EXPECT_EQ(ip_of(addr("/ip4/1.2.3.4/tcp/1"))->to_string(), "1.2.3.4");
  EXPECT_EQ(ip_of(addr("/ip6/::ffff:1.2.3.4/tcp/1")), ip_of(addr("/ip4/1.2.3.4")));
}

}  // namespace
}  // namespace stargate::p2p::autonat
