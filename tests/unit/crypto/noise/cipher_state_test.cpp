#include "crypto/noise/cipher_state.hpp"

#include <gtest/gtest.h>

namespace stargate::crypto::noise {
namespace {

CipherState::Key key_of(std::uint8_t fill) {
  CipherState::Key k{};
  k.fill(fill);
  return k;
}

TEST(NoiseNonce, FourZeroBytesThenLittleEndianCounter) {
  auto n = make_nonce(0x0102030405060708ULL);
  const crypto::ChaCha20Poly1305::Nonce expected{0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_EQ(n, expected);
}

TEST(CipherState, WithoutKeyIsIdentity) {
  CipherState c;
  EXPECT_FALSE(c.has_key());
  const Bytes pt = to_bytes("hello");
  EXPECT_EQ(c.encrypt_with_ad(as_bytes("ad"), pt).value(), pt);
  EXPECT_EQ(c.decrypt_with_ad(as_bytes("ad"), pt).value(), pt);
  EXPECT_EQ(c.nonce(), 0u);
  EXPECT_FALSE(c.seal_with_nonce(0, {}, pt));
}

TEST(CipherState, RoundTripAndNonceCounting) {
  CipherState a(key_of(7)), b(key_of(7));
  for (std::uint64_t i = 0; i < 5; ++i) {
    const Bytes pt = to_bytes("message " + std::to_string(i));
    auto ct = a.encrypt_with_ad(as_bytes("ad"), pt).value();
    EXPECT_EQ(ct.size(), pt.size() + tag_size);
    EXPECT_EQ(a.nonce(), i + 1);
    EXPECT_EQ(b.decrypt_with_ad(as_bytes("ad"), ct).value(), pt);
    EXPECT_EQ(b.nonce(), i + 1);
  }
}

TEST(CipherState, EncryptUsesTheCounterAsNonce) {
  CipherState a(key_of(1)), ref(key_of(1));
  a.set_nonce(41);
  auto ct = a.encrypt_with_ad({}, as_bytes("x")).value();
  EXPECT_EQ(ct, ref.seal_with_nonce(41, {}, as_bytes("x")).value());
  EXPECT_NE(ct, ref.seal_with_nonce(40, {}, as_bytes("x")).value());
  EXPECT_EQ(ref.nonce(), 0u);  // explicit-nonce calls leave the counter alone
  EXPECT_EQ(ref.open_with_nonce(41, {}, ct).value(), to_bytes("x"));
  EXPECT_FALSE(ref.open_with_nonce(42, {}, ct));
}

TEST(CipherState, BadTagFailsAndDoesNotAdvanceNonce) {
  CipherState a(key_of(3)), b(key_of(3));
  auto ct = a.encrypt_with_ad({}, as_bytes("payload")).value();
  auto bad = ct;
  bad[2] ^= 0x01;
  auto r = b.decrypt_with_ad({}, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(b.nonce(), 0u);
  EXPECT_FALSE(b.decrypt_with_ad(as_bytes("other ad"), ct));
  EXPECT_FALSE(b.decrypt_with_ad({}, BytesView(ct).first(tag_size - 1)));
  EXPECT_EQ(b.nonce(), 0u);
  EXPECT_EQ(b.decrypt_with_ad({}, ct).value(), to_bytes("payload"));
  EXPECT_EQ(b.nonce(), 1u);
}

TEST(CipherState, WrongKeyFails) {
  CipherState a(key_of(3)), b(key_of(4));
  auto ct = a.encrypt_with_ad({}, as_bytes("payload")).value();
  EXPECT_FALSE(b.decrypt_with_ad({}, ct));
}

TEST(CipherState, NonceExhaustion) {
  CipherState a(key_of(9)), b(key_of(9));
  a.set_nonce(max_nonce - 1);
  b.set_nonce(max_nonce - 1);
  auto ct = a.encrypt_with_ad({}, as_bytes("last"));
  ASSERT_TRUE(ct);
  EXPECT_EQ(b.decrypt_with_ad({}, *ct).value(), to_bytes("last"));
  EXPECT_EQ(a.nonce(), max_nonce);
  auto again = a.encrypt_with_ad({}, as_bytes("one too many"));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("exhausted"), std::string::npos);
  EXPECT_FALSE(b.decrypt_with_ad({}, *ct));
  EXPECT_FALSE(a.seal_with_nonce(max_nonce, {}, as_bytes("x")));
}

TEST(CipherState, InPlaceEncryptDecrypt) {
  CipherState a(key_of(5)), b(key_of(5));
  Bytes buf = to_bytes("in place plaintext");
  const Bytes original = buf;
  const std::size_t n = buf.size();
  buf.resize(n + tag_size);
  ASSERT_TRUE(a.encrypt_into({}, BytesView(buf).first(n), buf.data()));
  EXPECT_NE(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)), original);
  ASSERT_TRUE(b.decrypt_into({}, buf, buf.data()));
  buf.resize(n);
  EXPECT_EQ(buf, original);
}

TEST(CipherState, RekeyChangesKeyConsistently) {
  CipherState a(key_of(2)), b(key_of(2)), stale(key_of(2));
  a.rekey();
  b.rekey();
  EXPECT_EQ(a.nonce(), 0u);
  auto ct = a.encrypt_with_ad({}, as_bytes("after rekey")).value();
  EXPECT_EQ(b.decrypt_with_ad({}, ct).value(), to_bytes("after rekey"));
  EXPECT_FALSE(stale.decrypt_with_ad({}, ct));
}

}  // namespace
}  // namespace stargate::crypto::noise
