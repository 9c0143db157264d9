#include "base/multiaddr.hpp"

#include <gtest/gtest.h>

#include "hex_helper.hpp"

namespace stargate {
namespace {

using test::hex;

constexpr const char* kQmPeer = "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC";
constexpr const char* kQmPeerMultihash = "1220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b";
constexpr const char* kEdPeer = "12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV";
constexpr const char* kEdPeerMultihash = "0024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4";

struct RoundTrip {
  std::string text;
  const char* hex;
};

// Text <-> binary pairs. The first three are go-multiaddr's TestStringToBytes vectors (and the
// /ip6zone one its TestZone); the rest were checked against an independent encoder.
const RoundTrip kRoundTrips[] = {
    {"/ip4/127.0.0.1/udp/1234", "047f000001910204d2"},
    {"/ip4/127.0.0.1/tcp/4321", "047f0000010610e1"},
    {"/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321", "047f000001910204d2047f0000010610e1"},
    {"/ip6zone/eth0/ip6/::1", "2a04657468302900000000000000000000000000000001"},
    {"/ip4/127.0.0.1/tcp/4001", "047f000001060fa1"},
    {"/ip6/::1/tcp/4001", "2900000000000000000000000000000001060fa1"},
    {"/dns4/example.com/tcp/443", "360b6578616d706c652e636f6d0601bb"},
    {std::string("/p2p/") + kQmPeer, "a50322" "1220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b"},
    {std::string("/p2p/") + kEdPeer, "a50326" "0024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4"},
    {std::string("/ip4/1.2.3.4/tcp/1/p2p/") + kQmPeer + "/p2p-circuit/p2p/" + kEdPeer,
     "0401020304060001"
     "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b"
     "a202"
     "a503260024080112202d3de6d16ae87f7a933fe1552162a2d3f04951e90e8051e4ee2c18f002dd0fb4"},
    {"/ip4/127.0.0.1/udp/1234/quic-v1", "047f000001910204d2cd03"},
    {"/ip4/127.0.0.1/udp/1234/quic", "047f000001910204d2cc03"},
    {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/u1QEQOFj2IjCsPJFfMAxmQxLGPw",
     "047f000001910204d2cd03d103d20313d501103858f62230ac3c915f300c664312c63f"},
    {std::string("/dnsaddr/bootstrap.libp2p.io/p2p/") + kQmPeer,
     "3813626f6f7473747261702e6c69627032702e696f"
     "a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0b"},
    {"/ip4/1.2.3.4/tcp/443/tls/ws/wss/noise", "04010203040601bbc003dd03de03c603"},
    {"/ip4/0.0.0.0/tcp/0", "0400000000060000"},
    {"/ip4/255.255.255.255/udp/65535", "04ffffffff9102ffff"},
    {"/dns/a.example/tcp/1/http", "3509612e6578616d706c65060001e003"},
    {"/dns6/h/tcp/1/https", "370168060001bb03"},
};

std::string strip_spaces(std::string s) {
  std::erase(s, ' ');
  return s;
}

TEST(Multiaddr, TextToBinaryVectors) {
  for (const auto& v : kRoundTrips) {
    auto m = Multiaddr::parse(v.text);
    ASSERT_TRUE(m) << v.text << ": " << m.error().message;
    EXPECT_EQ(to_hex(m->bytes()), strip_spaces(v.hex)) << v.text;
    EXPECT_EQ(m->to_string(), v.text);
  }
}

TEST(Multiaddr, BinaryToTextVectors) {
  for (const auto& v : kRoundTrips) {
    auto m = Multiaddr::from_bytes(hex(strip_spaces(v.hex)));
    ASSERT_TRUE(m) << v.hex << ": " << m.error().message;
    EXPECT_EQ(m->to_string(), v.text);
    auto again = Multiaddr::parse(m->to_string());
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *m);
  }
}

TEST(Multiaddr, ExposesComponents) {
  auto m = Multiaddr::parse(std::string("/ip4/1.2.3.4/tcp/4001/p2p/") + kQmPeer).value();
  ASSERT_EQ(m.components().size(), 3u);
  EXPECT_EQ(m.components()[0], (MultiaddrComponent{Protocol::ip4, Bytes{1, 2, 3, 4}}));
  EXPECT_EQ(m.components()[1], (MultiaddrComponent{Protocol::tcp, Bytes{0x0f, 0xa1}}));
  EXPECT_EQ(m.components()[2].protocol, Protocol::p2p);
  EXPECT_EQ(to_hex(m.components()[2].value), kQmPeerMultihash);
  EXPECT_FALSE(m.empty());
}

TEST(Multiaddr, ProtocolCodesMatchTheMulticodecTable) {
  EXPECT_EQ(static_cast<std::uint32_t>(Protocol::quic), 0x01ccu);
  EXPECT_EQ(static_cast<std::uint32_t>(Protocol::quic_v1), 0x01cdu);
  EXPECT_EQ(static_cast<std::uint32_t>(Protocol::p2p), 0x01a5u);
  EXPECT_EQ(static_cast<std::uint32_t>(Protocol::p2p_circuit), 0x0122u);
  EXPECT_EQ(static_cast<std::uint32_t>(Protocol::webtransport), 0x01d1u);
  EXPECT_EQ(static_cast<std::uint32_t>(Protocol::certhash), 0x01d2u);
  EXPECT_EQ(protocol_name(Protocol::quic_v1), "quic-v1");
  EXPECT_EQ(protocol_name(static_cast<Protocol>(7)), "unknown");
}

TEST(Multiaddr, AcceptsAliasesAndNormalises) {
  // "/ipfs" is the old name of /p2p; a peer ID as a CIDv1 prints as base58btc; a certhash in any
  // multibase prints as base64url; one trailing '/' is accepted (as go- and js-multiaddr do).
  const std::pair<std::string, std::string> cases[] = {
      {std::string("/ipfs/") + kQmPeer, std::string("/p2p/") + kQmPeer},
      {"/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm", std::string("/p2p/") + kQmPeer},
      {"/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u", std::string("/p2p/") + kEdPeer},
      // The libp2p peer-ids spec's own example pair.
      {"/p2p/bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
       "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"},
      {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy",
       "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/u1QEQOFj2IjCsPJFfMAxmQxLGPw"},
      {"/certhash/zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
       "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g"},
      {"/p2p/zdvgqFmA4BAHCvFpDrJUnvKWFTKLtDbzkN3KQdN5A3ATKwuxv", std::string("/p2p/") + kQmPeer},
      {"/ip4/127.0.0.1/tcp/1234/", "/ip4/127.0.0.1/tcp/1234"},
      {"/ip4/127.0.0.1/p2p-circuit/", "/ip4/127.0.0.1/p2p-circuit"},
      {"/ip6/0:0:0:0:0:0:0:1", "/ip6/::1"},
      {"/ip6/2001:DB8::1", "/ip6/2001:db8::1"},
      {"/ip6/::ffff:127.0.0.1/tcp/111", "/ip6/::ffff:127.0.0.1/tcp/111"},
  };
  for (const auto& [in, canonical] : cases) {
    auto m = Multiaddr::parse(in);
    ASSERT_TRUE(m) << in << ": " << m.error().message;
    EXPECT_EQ(m->to_string(), canonical) << in;
    EXPECT_EQ(Multiaddr::parse(canonical).value(), *m) << in;
  }
}

struct TextReject {
  std::string text;
  std::string message;  // the whole message when it starts with "multiaddr", else a required part
};

TEST(Multiaddr, RejectsBadTextNamingTheBadPart) {
  const TextReject cases[] = {
      {"/ip4/1.2.3/tcp/1", R"(multiaddr "/ip4/1.2.3/tcp/1": invalid ip4 address "1.2.3")"},
      {"/foo", R"(multiaddr "/foo": unknown protocol "foo")"},
      {"/ip4/1.2.3.4/tcp", R"(multiaddr "/ip4/1.2.3.4/tcp": missing value for tcp)"},
      {"/ip4/1.2.3.4/tcp/", R"(multiaddr "/ip4/1.2.3.4/tcp/": missing value for tcp)"},
      {"/ip4", R"(multiaddr "/ip4": missing value for ip4)"},
      {"/ip4//tcp/1", R"(multiaddr "/ip4//tcp/1": missing value for ip4)"},
      {"/ip4/1.2.3.4/tcp/1/junk", R"(multiaddr "/ip4/1.2.3.4/tcp/1/junk": unknown protocol "junk")"},
      {"/ip4/1.2.3.4/tcp/1/4001", R"(unknown protocol "4001")"},
      {"/ip4/1.2.3.4//tcp/1", R"(multiaddr "/ip4/1.2.3.4//tcp/1": empty protocol name at position 13)"},
      {"/ip4/1.2.3.4/tcp/1//", "empty protocol name at position 19"},
      {"ip4/1.2.3.4", R"(multiaddr "ip4/1.2.3.4": must start with '/')"},
      {"", R"(multiaddr "": empty)"},
      {"/", R"(multiaddr "/": empty)"},
      {"/quic-v1/1234", R"(unknown protocol "1234")"},
      {"/ip4/::1", R"(invalid ip4 address "::1")"},
      {"/ip4/1.2.3.4.5", R"(invalid ip4 address "1.2.3.4.5")"},
      {"/ip4/256.1.1.1", R"(invalid ip4 address "256.1.1.1")"},
      {"/ip4/01.2.3.4", R"(invalid ip4 address "01.2.3.4")"},
      {"/ip4/ 1.2.3.4", R"(invalid ip4 address " 1.2.3.4")"},
      {std::string("/ip4/1.2.3.4\0/tcp/1", 19), R"(invalid ip4 address "1.2.3.4\x00")"},
      {"/ip6/1.2.3.4", R"(invalid ip6 address "1.2.3.4")"},
      {"/ip6/fe80::1%eth0", R"(invalid ip6 address "fe80::1%eth0")"},
      {"/ip6/::1::2", R"(invalid ip6 address "::1::2")"},
      {"/tcp/65536", R"(multiaddr "/tcp/65536": invalid tcp port "65536")"},
      {"/udp/99999999999999999999999", R"(invalid udp port "99999999999999999999999")"},
      {"/tcp/+1", R"(invalid tcp port "+1")"},
      {"/tcp/-1", R"(invalid tcp port "-1")"},
      {"/tcp/0080", R"(invalid tcp port "0080")"},
      {"/tcp/1a", R"(invalid tcp port "1a")"},
      {"/tcp/ 1", R"(invalid tcp port " 1")"},
      {"/ipcidr/256", R"(invalid ipcidr value "256")"},
      {"/dns4/a b/tcp/1", R"(invalid dns4 value "a b" (character ' '))"},
      {"/dns4/" + std::string(256, 'a'), "(longer than 255)"},
      {"/dnsaddr/a\x01", R"(invalid dnsaddr value "a\x01" (character '\x01'))"},
      {std::string("/p2p/") + "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNK0",
       R"(invalid p2p value "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNK0": base58: invalid character '0' at position 45)"},
      {"/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNK", R"(invalid p2p value "QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNK": multihash: )"},
      {"/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7", "multibase: unsupported prefix 'k'"},
      // A CIDv1, but of dag-pb content rather than a libp2p key.
      {"/p2p/bafybeibj6lixxzqtsb45ysdjnupvqkufgdvzqbnvmhw2kf7cfkesy7r7d4", "CID codec is not libp2p-key"},
      {"/p2p/bajzaaaa", R"(invalid p2p value "bajzaaaa": not a CIDv1)"},
      // A libp2p-key CID holding an md5 multihash: a valid multihash, but not a peer ID.
      {"/p2p/bafznkaiqhbmpmirqvq6jcxzqbrtegewgh4", "multihash code 213 is not identity or sha2-256"},
      {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp",
       R"(invalid certhash value "b2uaraocy6yrdblb4sfptaddgimjmmp": multibase payload after 'b' prefix: base32: invalid length 30)"},
      {"/certhash/uEiA", R"(invalid certhash value "uEiA": multihash: digest length 32 but 0 bytes follow)"},
      {"/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash", "missing value for certhash"},
  };
  for (const auto& c : cases) {
    auto m = Multiaddr::parse(c.text);
    ASSERT_FALSE(m) << c.text << " parsed as " << m->to_string();
    if (c.message.starts_with("multiaddr")) {
      EXPECT_EQ(m.error().message, c.message);
    } else {
      EXPECT_NE(m.error().message.find(c.message), std::string::npos)
          << "want part: " << c.message << "\n got: " << m.error().message;
    }
  }
}

TEST(Multiaddr, BoundsText) {
  std::string many;
  for (std::size_t i = 0; i < kMaxMultiaddrComponents; ++i) many += "/tcp/1";
  EXPECT_TRUE(Multiaddr::parse(many));
  auto r = Multiaddr::parse(many + "/tcp/1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("more than 32 components"), std::string::npos) << r.error().message;

  // Five long names: within the text bound, over the binary one.
  std::string big;
  for (int i = 0; i < 5; ++i) big += "/dnsaddr/" + std::string(250, 'a');
  r = Multiaddr::parse(big);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("binary form too long (1265 bytes, max 1024)"), std::string::npos)
      << r.error().message;

  r = Multiaddr::parse("/" + std::string(kMaxMultiaddrText, 'a'));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too long (8193 characters, max 8192)"), std::string::npos);
  EXPECT_LT(r.error().message.size(), 200u);  // the input is not echoed whole
}

struct BinaryReject {
  const char* hex;
  const char* message;
};

TEST(Multiaddr, RejectsBadBinaryNamingTheBadPart) {
  const BinaryReject cases[] = {
      {"", "multiaddr bytes: empty"},
      {"047f00", "multiaddr bytes: truncated ip4 value (need 4 bytes, have 2) at offset 1"},
      {"047f0000010604", "multiaddr bytes: truncated tcp value (need 2 bytes, have 1) at offset 6"},
      {"29000000", "multiaddr bytes: truncated ip6 value (need 16 bytes, have 3) at offset 1"},
      {"07", "multiaddr bytes: unknown protocol code 7 at offset 0"},
      {"047f000001ffff03", "multiaddr bytes: unknown protocol code 65535 at offset 5"},
      {"80", "multiaddr bytes: truncated protocol code at offset 0"},
      {"8000", "multiaddr bytes: bad protocol code (varint not minimally encoded) at offset 0"},
      {"ffffffffffffffffff01", "multiaddr bytes: bad protocol code (varint longer than 9 bytes) at offset 0"},
      {"36", "multiaddr bytes: truncated dns4 value length at offset 1"},
      {"360b65", "multiaddr bytes: truncated dns4 value (need 11 bytes, have 1) at offset 2"},
      {"36ffffffffffffffff7f", "multiaddr bytes: truncated dns4 value (need 9223372036854775807 bytes, have 0) at offset 10"},
      {"3600", "multiaddr bytes: empty value for dns4 at offset 2"},
      {"3603612f62", R"(multiaddr bytes: invalid dns4 value "a/b" (character '/') at offset 2)"},
      {"368000", "multiaddr bytes: bad dns4 value length (varint not minimally encoded) at offset 1"},
      // go-multiaddr TestInvalidP2PAddrBytes: the multihash claims 33 digest bytes, 32 follow.
      {"a503221221c05877cbae039d70a5e600ea02c6f9f2942439285c9e344e26f8d280c850fad6",
       "multiaddr bytes: invalid p2p value: multihash: digest length 33 but 32 bytes follow at offset 3"},
      {"a50313d501103858f62230ac3c915f300c664312c63f",
       "multiaddr bytes: invalid p2p value: multihash code 213 is not identity or sha2-256 at offset 3"},
      {"d2030112", "multiaddr bytes: invalid certhash value: multihash: truncated digest length at offset 3"},
      {"a50300", "multiaddr bytes: invalid p2p value: multihash: truncated hash code at offset 3"},
  };
  for (const auto& c : cases) {
    auto m = Multiaddr::from_bytes(hex(c.hex));
    ASSERT_FALSE(m) << c.hex << " decoded as " << m->to_string();
    EXPECT_EQ(m.error().message, c.message) << c.hex;
  }
}

TEST(Multiaddr, BoundsBinary) {
  Bytes many;
  for (std::size_t i = 0; i < kMaxMultiaddrComponents; ++i) append(many, hex("060001"));
  EXPECT_TRUE(Multiaddr::from_bytes(many));
  append(many, hex("060001"));
  auto r = Multiaddr::from_bytes(many);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "multiaddr bytes: more than 32 components at offset 96");

  Bytes big = hex("38fe07");  // dnsaddr, length 1022: 1025 bytes in all
  big.resize(big.size() + 1022, 'a');
  r = Multiaddr::from_bytes(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "multiaddr bytes: too long (1025 bytes, max 1024)");
}

TEST(Multiaddr, EveryTruncationOfAValidAddressIsRejected) {
  const Bytes full = Multiaddr::parse(kRoundTrips[9].text).value().bytes();  // the circuit address
  for (std::size_t n = 1; n < full.size(); ++n) {
    auto m = Multiaddr::from_bytes(BytesView(full).first(n));
    // Cuts that fall between components give a valid shorter address; all others must fail.
    if (m) {
      EXPECT_EQ(Multiaddr::parse(m->to_string()).value().bytes(), Bytes(full.begin(), full.begin() + n));
    }
  }
  EXPECT_TRUE(Multiaddr::from_bytes(BytesView(full).first(8)));   // /ip4/1.2.3.4/tcp/1
  EXPECT_FALSE(Multiaddr::from_bytes(BytesView(full).first(7)));  // half a port
  EXPECT_FALSE(Multiaddr::from_bytes(BytesView(full).first(40)));  // inside the relay's id
}

TEST(Multiaddr, Encapsulate) {
  const auto base = Multiaddr::parse("/ip4/127.0.0.1/udp/1234").value();
  const auto more = Multiaddr::parse("/udp/5678").value();
  const auto both = base.encapsulate(more);
  EXPECT_EQ(both.to_string(), "/ip4/127.0.0.1/udp/1234/udp/5678");
  EXPECT_EQ(both, Multiaddr::parse("/ip4/127.0.0.1/udp/1234/udp/5678").value());
  EXPECT_EQ(both.components().size(), 3u);
  EXPECT_EQ(base.encapsulate(Multiaddr{}), base);
  EXPECT_EQ(Multiaddr{}.encapsulate(base), base);
}

TEST(Multiaddr, PeerIdIsTheTrailingP2p) {
  const std::string relay = std::string("/ip4/1.2.3.4/tcp/1/p2p/") + kQmPeer + "/p2p-circuit";
  const auto circuit = Multiaddr::parse(relay + "/p2p/" + kEdPeer).value();
  ASSERT_TRUE(circuit.peer_id_bytes());
  EXPECT_EQ(to_hex(*circuit.peer_id_bytes()), kEdPeerMultihash);
  EXPECT_TRUE(circuit.is_circuit());

  const auto stripped = circuit.without_peer_id();
  EXPECT_EQ(stripped.to_string(), relay);
  EXPECT_EQ(stripped, Multiaddr::parse(relay).value());  // bytes and components both trimmed
  // The relay's /p2p is not the destination of a circuit address without a target.
  EXPECT_FALSE(stripped.peer_id_bytes());
  EXPECT_EQ(stripped.without_peer_id(), stripped);

  const auto direct = Multiaddr::parse(std::string("/ip4/1.2.3.4/tcp/1/p2p/") + kQmPeer).value();
  EXPECT_EQ(to_hex(direct.peer_id_bytes().value()), kQmPeerMultihash);
  EXPECT_FALSE(direct.is_circuit());
  EXPECT_EQ(direct.without_peer_id(), Multiaddr::parse("/ip4/1.2.3.4/tcp/1").value());

  const auto only_peer = Multiaddr::parse(std::string("/p2p/") + kEdPeer).value();
  EXPECT_TRUE(only_peer.without_peer_id().empty());
  EXPECT_TRUE(only_peer.without_peer_id().bytes().empty());

  EXPECT_FALSE(Multiaddr{}.peer_id_bytes());
  EXPECT_TRUE(Multiaddr{}.without_peer_id().empty());
}

TEST(Multiaddr, FromComponentValidates) {
  auto m = Multiaddr::from_component(Protocol::p2p, hex(kQmPeerMultihash));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->to_string(), std::string("/p2p/") + kQmPeer);
  EXPECT_EQ(Multiaddr::from_component(Protocol::tcp, Bytes{0x0f, 0xa1}).value().to_string(), "/tcp/4001");
  EXPECT_EQ(Multiaddr::from_component(Protocol::p2p_circuit, {}).value().to_string(), "/p2p-circuit");

  auto bad = Multiaddr::from_component(Protocol::p2p, hex("1220aa"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("invalid p2p value"), std::string::npos);
  EXPECT_FALSE(Multiaddr::from_component(Protocol::tcp, Bytes{1}));
  EXPECT_FALSE(Multiaddr::from_component(static_cast<Protocol>(7), {}));
}

TEST(Multiaddr, EqualityFollowsBytes) {
  EXPECT_EQ(Multiaddr::parse("/ip4/127.0.0.1/tcp/1234").value(), Multiaddr::parse("/ip4/127.0.0.1/tcp/1234/").value());
  EXPECT_NE(Multiaddr::parse("/ip4/127.0.0.1/tcp/1234").value(), Multiaddr::parse("/ip4/127.0.0.1/udp/1234").value());
  EXPECT_EQ(Multiaddr{}.to_string(), "");
  EXPECT_TRUE(Multiaddr{}.empty());
}

}  // namespace
}  // namespace stargate
