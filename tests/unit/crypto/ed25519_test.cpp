#include "crypto/ed25519.hpp"

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace stargate::crypto {
namespace {

using test::hex;

struct Rfc8032Vector {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1, TEST 1, 2, 3 and TEST 1024.
const Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519, Rfc8032Vectors) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.seed);
    auto key = Ed25519PrivateKey::from_seed(hex(v.seed));
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(to_hex(key->public_key().bytes()), v.public_key);
    EXPECT_EQ(to_hex(key->seed()), v.seed);
    Bytes msg = hex(v.message);
    auto sig = key->sign(msg);
    EXPECT_EQ(to_hex(sig), v.signature);

    auto pub = Ed25519PublicKey::from_bytes(hex(v.public_key));
    ASSERT_TRUE(pub);
    EXPECT_TRUE(pub->verify(msg, sig));
    EXPECT_TRUE(*pub == key->public_key());
  }
}

TEST(Ed25519, VerifyRejectsTamperingAndWrongSizes) {
  auto key = Ed25519PrivateKey::generate();
  Bytes msg = to_bytes("hello stargate");
  auto sig = key.sign(msg);
  const auto& pub = key.public_key();
  EXPECT_TRUE(pub.verify(msg, sig));

  Bytes bad_msg = msg;
  bad_msg[0] ^= 1;
  EXPECT_FALSE(pub.verify(bad_msg, sig));

  auto bad_sig = sig;
  bad_sig[10] ^= 0x40;
  EXPECT_FALSE(pub.verify(msg, bad_sig));

  EXPECT_FALSE(pub.verify(msg, BytesView(sig.data(), 63)));
  Bytes long_sig(sig.begin(), sig.end());
  long_sig.push_back(0);
  EXPECT_FALSE(pub.verify(msg, long_sig));
  EXPECT_FALSE(pub.verify(msg, {}));

  auto other = Ed25519PrivateKey::generate();
  EXPECT_FALSE(other.public_key().verify(msg, sig));
  EXPECT_FALSE(Ed25519PublicKey{}.verify(msg, sig));  // default-constructed key verifies nothing
}

TEST(Ed25519, RejectsWrongLengths) {
  EXPECT_FALSE(Ed25519PrivateKey::from_seed(Bytes(31)));
  EXPECT_FALSE(Ed25519PrivateKey::from_seed(Bytes(64)));
  EXPECT_FALSE(Ed25519PublicKey::from_bytes(Bytes(33)));
  auto err = Ed25519PublicKey::from_bytes(Bytes(5));
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("32 bytes"), std::string::npos);
}

TEST(Ed25519, GenerateIsRandomAndMoveWorks) {
  auto a = Ed25519PrivateKey::generate();
  auto b = Ed25519PrivateKey::generate();
  EXPECT_NE(a.seed(), b.seed());
  auto seed = a.seed();
  Ed25519PrivateKey c = std::move(a);
  EXPECT_EQ(c.seed(), seed);
  b = std::move(c);
  EXPECT_EQ(b.seed(), seed);
  auto sig = b.sign(as_bytes("x"));
  EXPECT_TRUE(b.public_key().verify(as_bytes("x"), sig));
}

TEST(Ed25519, CloneSignsAsTheOriginalAndOutlivesIt) {
  std::optional<Ed25519PrivateKey> original = Ed25519PrivateKey::generate();
  auto clone = original->clone();
  auto public_key = original->public_key();
  EXPECT_EQ(clone.public_key(), public_key);
  original.reset();  // the clone holds its own reference
  auto sig = clone.sign(as_bytes("y"));
  EXPECT_TRUE(public_key.verify(as_bytes("y"), sig));
}

}  // namespace
}  // namespace stargate::crypto
