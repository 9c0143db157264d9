#include "crypto/sha256.hpp"

#include "crypto/random.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace stargate::crypto {
namespace {

using test::hex;

TEST(Sha256, Abc) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, EmptyAndReuse) {
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // A second call on the reused per-thread context starts afresh.
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HmacSha256, Rfc4231Case1) {
  Bytes key(20, 0x0b);
  EXPECT_EQ(to_hex(hmac_sha256(key, as_bytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256, Rfc4231Case2) {
  EXPECT_EQ(to_hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, EmptyKeyAfterOtherKey) {
  // An empty key must not reuse the previous call's key on the cached context.
  (void)hmac_sha256(as_bytes("Jefe"), as_bytes("x"));
  EXPECT_EQ(to_hex(hmac_sha256({}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HkdfSha256, Rfc5869Case1) {
  Bytes ikm(22, 0x0b);
  Bytes okm(42);
  hkdf_sha256(hex("000102030405060708090a0b0c"), ikm, hex("f0f1f2f3f4f5f6f7f8f9"), okm);
  EXPECT_EQ(to_hex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfSha256, Rfc5869Case3EmptySaltAndInfoAfterCase1) {
  // Run case 1 first so stale salt/info on the reused context would show up.
  Bytes ikm(22, 0x0b);
  Bytes okm(42);
  hkdf_sha256(hex("000102030405060708090a0b0c"), ikm, hex("f0f1f2f3f4f5f6f7f8f9"), okm);
  hkdf_sha256({}, ikm, {}, okm);
  EXPECT_EQ(to_hex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfSha256, NoiseStyleEmptyIkmMatchesManualHmac) {
  // Noise's Split() is HKDF(ck, zerolen, 2): check it against the HMAC construction directly.
  Bytes ck(32);
  random_bytes(ck);
  Bytes okm(64);
  hkdf_sha256(ck, {}, {}, okm);
  auto prk = hmac_sha256(ck, {});
  Bytes one{0x01};
  auto t1 = hmac_sha256(prk, one);
  Bytes t1_2(t1.begin(), t1.end());
  t1_2.push_back(0x02);
  auto t2 = hmac_sha256(prk, t1_2);
  EXPECT_EQ(Bytes(okm.begin(), okm.begin() + 32), Bytes(t1.begin(), t1.end()));
  EXPECT_EQ(Bytes(okm.begin() + 32, okm.end()), Bytes(t2.begin(), t2.end()));
}

TEST(HkdfSha256, RejectsTooLongOutput) {
  Bytes okm(255 * 32 + 1);
  EXPECT_THROW(hkdf_sha256({}, as_bytes("k"), {}, okm), std::invalid_argument);
}

TEST(Sha256, PerThreadContextsGiveSameResults) {
  // The cached contexts are per thread: hammer them from several threads at once.
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Bytes ikm(22, 0x0b), okm(42);
      for (int i = 0; i < 200; ++i) {
        if (to_hex(sha256(as_bytes("abc"))) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ++bad;
        if (to_hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))) !=
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") {
          ++bad;
        }
        hkdf_sha256({}, ikm, {}, okm);
        if (to_hex(okm) != "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8") ++bad;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(Random, FillsAndWipes) {
  Bytes a(64), b(64);
  random_bytes(a);
  random_bytes(b);
  EXPECT_NE(a, b);
  secure_wipe(a);
  EXPECT_EQ(a, Bytes(64, 0));
  random_bytes({});  // empty is fine
}

}  // namespace
}  // namespace stargate::crypto
