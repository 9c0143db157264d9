#include "crypto/peer_id.hpp"

#include "keys.pb.h"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

namespace stargate::crypto {
namespace {

using test::hex;

// libp2p/specs peer-ids/peer-ids.md, "Test vectors": the Ed25519 public key protobuf. Its PeerId is
// also checked by go-libp2p's tests and was recomputed independently (Python base58) for this test.
constexpr const char* kSpecPublicKeyProto = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr const char* kSpecPeerId = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
// The same PeerId as a CIDv1 (libp2p-key, base32).
constexpr const char* kSpecPeerIdCid = "bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6";
// Examples from the spec's "String representation" section.
constexpr const char* kSpecEd25519Example = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
constexpr const char* kSpecSha256Example = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
constexpr const char* kSpecSha256ExampleCid = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";

TEST(PublicKeyProto, SpecVectorRoundTrip) {
  auto key = decode_public_key_proto(hex(kSpecPublicKeyProto));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(to_hex(key->bytes()), "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
  EXPECT_EQ(to_hex(encode_public_key_proto(*key)), kSpecPublicKeyProto);
}

TEST(PublicKeyProto, HandEncodingMatchesProtobuf) {
  auto key = Ed25519PrivateKey::generate();
  pb::PublicKey msg;
  msg.set_type(pb::Ed25519);
  msg.set_data(std::string(as_string(key.public_key().bytes())));
  EXPECT_EQ(to_hex(encode_public_key_proto(key.public_key())), to_hex(as_bytes(msg.SerializeAsString())));
}

TEST(PublicKeyProto, RejectsOtherKeyTypesAndGarbage) {
  // secp256k1 public key from the spec's test vectors.
  auto secp = decode_public_key_proto(hex("08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"));
  ASSERT_FALSE(secp);
  EXPECT_NE(secp.error().message.find("Secp256k1"), std::string::npos) << secp.error().message;
  auto rsa = decode_public_key_proto(hex("08001203010203"));
  ASSERT_FALSE(rsa);
  EXPECT_NE(rsa.error().message.find("RSA"), std::string::npos);
  EXPECT_FALSE(decode_public_key_proto({}));                          // required fields missing
  EXPECT_FALSE(decode_public_key_proto(hex("0801")));                 // Data missing
  EXPECT_FALSE(decode_public_key_proto(hex("08011203010203")));       // Ed25519 key of 3 bytes
  EXPECT_FALSE(decode_public_key_proto(hex("ffffffff")));             // not protobuf
  EXPECT_FALSE(decode_public_key_proto(hex("080912201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e")));  // type 9
}

TEST(PeerId, SpecVector) {
  auto key = decode_public_key_proto(hex(kSpecPublicKeyProto));
  ASSERT_TRUE(key);
  auto id = PeerId::from_public_key(*key);
  EXPECT_EQ(id.to_string(), kSpecPeerId);
  EXPECT_EQ(to_hex(id.bytes()), std::string("0024") + kSpecPublicKeyProto);
  EXPECT_EQ(id.to_cid_string(), kSpecPeerIdCid);
  EXPECT_TRUE(id.matches(*key));
  auto extracted = id.public_key();
  ASSERT_TRUE(extracted) << extracted.error().message;
  EXPECT_TRUE(*extracted == *key);
}

TEST(PeerId, ParsePrintRoundTrip) {
  for (const char* text : {kSpecPeerId, kSpecEd25519Example, kSpecSha256Example}) {
    auto id = PeerId::parse(text);
    ASSERT_TRUE(id) << text << ": " << id.error().message;
    EXPECT_EQ(id->to_string(), text);
    auto again = PeerId::from_bytes(id->bytes());
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *id);
  }
  auto key = Ed25519PrivateKey::generate();
  auto id = PeerId::from_public_key(key.public_key());
  EXPECT_TRUE(id.to_string().starts_with("12D3KooW")) << id.to_string();
  auto parsed = PeerId::parse(id.to_string());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, id);
  EXPECT_TRUE(parsed->public_key()->bytes() == key.public_key().bytes());
}

TEST(PeerId, ParsesCidForm) {
  auto cid = PeerId::parse(kSpecPeerIdCid);
  ASSERT_TRUE(cid) << cid.error().message;
  EXPECT_EQ(cid->to_string(), kSpecPeerId);
  auto sha = PeerId::parse(kSpecSha256ExampleCid);
  ASSERT_TRUE(sha) << sha.error().message;
  EXPECT_EQ(sha->to_string(), kSpecSha256Example);
  EXPECT_EQ(sha->to_cid_string(), kSpecSha256ExampleCid);
}

TEST(PeerId, Sha256IdHasNoExtractableKey) {
  auto id = PeerId::parse(kSpecSha256Example);
  ASSERT_TRUE(id);
  auto key = id->public_key();
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("sha2-256"), std::string::npos);
}

TEST(PeerId, RejectsGarbage) {
  for (const char* text : {
           "",
           "hello",
           "12D3KooW",                                                // truncated multihash
           "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p0",    // '0' is not base58
           "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pqq",   // trailing garbage
           "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",           // short sha2-256 digest
           "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",  // a dag-pb CID, not libp2p-key
           "Zzzz",
       }) {
    auto id = PeerId::parse(text);
    EXPECT_FALSE(id) << "accepted '" << text << "'";
    if (!id) {
      EXPECT_FALSE(id.error().message.empty());
    }
  }
  EXPECT_FALSE(PeerId::from_bytes({}));
  EXPECT_FALSE(PeerId::from_bytes(hex("1101aa")));  // sha1 multihash code
  EXPECT_FALSE(PeerId::from_bytes(hex("0000")));    // empty identity
  Bytes long_identity = hex("002b");                 // identity multihash of 43 bytes (> 42)
  long_identity.resize(2 + 43, 0x01);
  EXPECT_FALSE(PeerId::from_bytes(long_identity));
}

TEST(PeerId, IdentityIdWithOtherKeyTypeHasNoEd25519Key) {
  // secp256k1 PeerIds are identity multihashes too (37-byte key protobuf): valid, but not Ed25519.
  Bytes mh = hex("0025");
  append(mh, hex("08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99"));
  auto id = PeerId::from_bytes(mh);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(id->to_string().starts_with("16Uiu2"));
  auto key = id->public_key();
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("Secp256k1"), std::string::npos);
}

TEST(PeerId, ComparisonAndHash) {
  auto a = PeerId::from_public_key(Ed25519PrivateKey::generate().public_key());
  auto b = PeerId::from_public_key(Ed25519PrivateKey::generate().public_key());
  auto a2 = *PeerId::parse(a.to_string());
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_TRUE((a < b) != (b < a));
  EXPECT_EQ(std::hash<PeerId>{}(a), std::hash<PeerId>{}(a2));
  std::unordered_set<PeerId> set{a, b, a2};
  EXPECT_EQ(set.size(), 2u);
  PeerId empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.to_string(), "");
  EXPECT_FALSE(empty.public_key());
}

TEST(AgentId, KnownValue) {
  // SHA-256 of the spec vector's raw public key, first 16 bytes (computed independently with Python hashlib).
  auto key = Ed25519PublicKey::from_bytes(hex("1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"));
  ASSERT_TRUE(key);
  EXPECT_EQ(agent_id(*key), "9721e4d91af5f19ca75ecd49f5596d95");
  EXPECT_TRUE(looks_like_agent_id(agent_id(*key)));
}

TEST(AgentId, LooksLike) {
  EXPECT_TRUE(looks_like_agent_id("0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(looks_like_agent_id("0123456789ABCDEF0123456789abcdef"));  // uppercase
  EXPECT_FALSE(looks_like_agent_id("0123456789abcdef0123456789abcde"));   // 31
  EXPECT_FALSE(looks_like_agent_id("0123456789abcdef0123456789abcdef0"));  // 33
  EXPECT_FALSE(looks_like_agent_id("0123456789abcdef0123456789abcdeg"));
  EXPECT_FALSE(looks_like_agent_id(kSpecPeerId));
  EXPECT_FALSE(looks_like_agent_id(""));
}

}  // namespace
}  // namespace stargate::crypto
