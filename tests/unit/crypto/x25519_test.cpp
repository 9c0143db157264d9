#include "crypto/x25519.hpp"

#include "test_util.hpp"

#include <gtest/gtest.h>

namespace stargate::crypto {
namespace {

using test::hex;

std::string dh_hex(std::string_view scalar, std::string_view u) {
  auto key = X25519PrivateKey::from_bytes(hex(scalar));
  if (!key) return "error: " + key.error().message;
  auto shared = key->diffie_hellman(hex(u));
  if (!shared) return "error: " + shared.error().message;
  return to_hex(*shared);
}

TEST(X25519, Rfc7748Section52Vectors) {
  EXPECT_EQ(dh_hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                   "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  EXPECT_EQ(dh_hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                   "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, Rfc7748Section52Iterated) {
  Bytes k(32, 0), u(32, 0);
  k[0] = 9;
  u[0] = 9;
  for (int i = 1; i <= 1000; ++i) {
    auto key = X25519PrivateKey::from_bytes(k);
    ASSERT_TRUE(key);
    auto r = key->diffie_hellman(u);
    ASSERT_TRUE(r) << r.error().message;
    u = k;
    k.assign(r->begin(), r->end());
    if (i == 1) {
      EXPECT_EQ(to_hex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(to_hex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST(X25519, Rfc7748Section61AliceBob) {
  auto alice = X25519PrivateKey::from_bytes(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = X25519PrivateKey::from_bytes(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(alice);
  ASSERT_TRUE(bob);
  EXPECT_EQ(to_hex(alice->public_key()), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob->public_key()), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto k1 = alice->diffie_hellman(bob->public_key());
  auto k2 = bob->diffie_hellman(alice->public_key());
  ASSERT_TRUE(k1);
  ASSERT_TRUE(k2);
  EXPECT_EQ(to_hex(*k1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*k1, *k2);
  EXPECT_EQ(to_hex(alice->secret_bytes()), "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
}

TEST(X25519, RejectsLowOrderPoints) {
  auto key = X25519PrivateKey::generate();
  // u = 0 and u = 1 are of small order: the shared secret is all zero.
  Bytes zero(32, 0);
  Bytes one(32, 0);
  one[0] = 1;
  auto r0 = key.diffie_hellman(zero);
  ASSERT_FALSE(r0);
  EXPECT_NE(r0.error().message.find("low-order"), std::string::npos);
  EXPECT_FALSE(key.diffie_hellman(one));
  // A point of order 8 (from the list in Bernstein's Curve25519 page / libsodium's blocklist).
  EXPECT_FALSE(key.diffie_hellman(hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")));
}

TEST(X25519, RejectsWrongLengths) {
  EXPECT_FALSE(X25519PrivateKey::from_bytes(Bytes(31)));
  auto key = X25519PrivateKey::generate();
  EXPECT_FALSE(key.diffie_hellman(Bytes(33)));
}

TEST(X25519, GenerateAndCopy) {
  auto a = X25519PrivateKey::generate();
  auto b = X25519PrivateKey::generate();
  EXPECT_NE(a.public_key(), b.public_key());
  X25519PrivateKey c = a;
  EXPECT_EQ(c.public_key(), a.public_key());
  c = b;
  EXPECT_EQ(c.secret_bytes(), b.secret_bytes());
  EXPECT_EQ(*a.diffie_hellman(b.public_key()), *b.diffie_hellman(a.public_key()));
}

}  // namespace
}  // namespace stargate::crypto
