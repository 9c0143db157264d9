#include "base/multihash.hpp"

#include <gtest/gtest.h>

#include "hex_helper.hpp"

namespace stargate {
namespace {

using test::hex;

// multiformats/multihash README: sha2-256 of "Merkle–Damgård".
constexpr const char* kSha256Digest = "41dd7b6443542e75701aa98a0c235951a28a0d851b11564d20022ab11d2589a8";
constexpr const char* kSha256Multihash = "122041dd7b6443542e75701aa98a0c235951a28a0d851b11564d20022ab11d2589a8";

// The identity multihash inside peer ID 12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA
// (libp2p peer-ids spec): a protobuf Ed25519 public key.
constexpr const char* kIdentityDigest = "080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b";

TEST(Multihash, EncodesSha256) {
  EXPECT_EQ(to_hex(encode_multihash(kMultihashSha2_256, hex(kSha256Digest))), kSha256Multihash);
}

TEST(Multihash, EncodesIdentity) {
  EXPECT_EQ(to_hex(encode_multihash(kMultihashIdentity, hex(kIdentityDigest))),
            std::string("0024") + kIdentityDigest);
}

TEST(Multihash, EncodesMultiByteCodesAndLengths) {
  const Bytes digest(200, 0xab);  // the encoder does not apply the decoder's bound
  const Bytes mh = encode_multihash(0xb220, digest);  // blake2b-256's code needs 3 varint bytes
  EXPECT_EQ(to_hex(BytesView(mh).first(5)), "a0e402c801");
  EXPECT_EQ(mh.size(), 5 + digest.size());
}

TEST(Multihash, DecodesBoth) {
  auto sha = decode_multihash(hex(kSha256Multihash));
  ASSERT_TRUE(sha) << sha.error().message;
  EXPECT_EQ(sha->code, kMultihashSha2_256);
  EXPECT_EQ(to_hex(sha->digest), kSha256Digest);

  auto id = decode_multihash(hex(std::string("0024") + kIdentityDigest));
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->code, kMultihashIdentity);
  EXPECT_EQ(to_hex(id->digest), kIdentityDigest);

  auto empty_identity = decode_multihash(hex("0000"));
  ASSERT_TRUE(empty_identity);
  EXPECT_TRUE(empty_identity->digest.empty());
}

TEST(Multihash, AcceptsOtherCodesWithExactLength) {
  auto md5 = decode_multihash(hex("d501103858f62230ac3c915f300c664312c63f"));  // from a certhash
  ASSERT_TRUE(md5) << md5.error().message;
  EXPECT_EQ(md5->code, 0xd5u);
  EXPECT_EQ(md5->digest.size(), 16u);
}

struct Reject {
  const char* hex;
  const char* message_part;
};

TEST(Multihash, RejectsMalformed) {
  const Reject cases[] = {
      {"", "truncated hash code"},
      {"12", "truncated digest length"},
      {"8000", "bad hash code"},
      {"128000", "bad digest length"},
      {"1220", "digest length 32 but 0 bytes follow"},
      {"1202abcdef", "digest length 2 but 3 bytes follow"},
      {"0003abcd", "digest length 3 but 2 bytes follow"},
      {"008101", "digest length 129 exceeds 128"},
      {"121f00", "digest length 31 but 1 bytes follow"},
  };
  for (const auto& c : cases) {
    auto r = decode_multihash(hex(c.hex));
    ASSERT_FALSE(r) << c.hex;
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << c.hex << ": " << r.error().message;
  }
}

TEST(Multihash, RejectsShortSha256) {
  const Bytes mh = encode_multihash(kMultihashSha2_256, Bytes(20, 1));
  auto r = decode_multihash(mh);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "multihash: sha2-256 digest of 20 bytes, expected 32");
}

TEST(Multihash, DigestBoundIsInclusive) {
  EXPECT_TRUE(decode_multihash(encode_multihash(kMultihashIdentity, Bytes(kMaxMultihashDigest, 7))));
  EXPECT_FALSE(decode_multihash(encode_multihash(kMultihashIdentity, Bytes(kMaxMultihashDigest + 1, 7))));
}

}  // namespace
}  // namespace stargate
