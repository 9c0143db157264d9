#include "crypto/chacha20poly1305.hpp"

#include "crypto/random.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <algorithm>

namespace stargate::crypto {
namespace {

using test::hex;
using test::hex_array;

constexpr const char* kPlaintext =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
    "sunscreen would be it.";
constexpr const char* kCiphertext =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
    "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116";
constexpr const char* kTag = "1ae10b594f09e26a7e902ecbd0600691";

ChaCha20Poly1305::Key rfc_key() {
  ChaCha20Poly1305::Key key;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0x80 + i);
  return key;
}
const auto kNonce = hex_array<ChaCha20Poly1305::Nonce>("070000004041424344454647");
const Bytes kAad = hex("50515253c0c1c2c3c4c5c6c7");

TEST(ChaCha20Poly1305, Rfc8439Section282Seal) {
  ChaCha20Poly1305 aead(rfc_key());
  BytesView pt = as_bytes(kPlaintext);
  Bytes out(pt.size() + ChaCha20Poly1305::tag_size);
  // Seal twice on the same object: the nonce reset must fully restart the cipher state.
  for (int i = 0; i < 2; ++i) {
    aead.seal(kNonce, kAad, pt, out.data());
    EXPECT_EQ(to_hex(out), std::string(kCiphertext) + kTag);
  }
}

TEST(ChaCha20Poly1305, Rfc8439Section282OpenInPlace) {
  ChaCha20Poly1305 aead(rfc_key());
  Bytes buf = hex(std::string(kCiphertext) + kTag);
  ASSERT_TRUE(aead.open(kNonce, kAad, buf, buf.data()));
  EXPECT_EQ(as_string(BytesView(buf.data(), buf.size() - 16)), kPlaintext);
}

TEST(ChaCha20Poly1305, SealInPlaceMatchesOutOfPlace) {
  ChaCha20Poly1305 aead(rfc_key());
  BytesView pt = as_bytes(kPlaintext);
  Bytes buf(pt.begin(), pt.end());
  buf.resize(pt.size() + 16);
  aead.seal(kNonce, kAad, BytesView(buf.data(), pt.size()), buf.data());
  EXPECT_EQ(to_hex(buf), std::string(kCiphertext) + kTag);
}

// ChaCha20-Poly1305 sealed by OpenSSL in one update: the reference for lengths that seal() feeds
// in two (an even number of 64-byte blocks, then the rest).
Bytes one_shot_seal(const ChaCha20Poly1305::Key& key, const ChaCha20Poly1305::Nonce& nonce, BytesView ad,
                    BytesView pt) {
  Bytes out(pt.size() + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key.data(), nonce.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, ad.data(), static_cast<int>(ad.size())), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &len, pt.data(), static_cast<int>(pt.size())), 1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + len, &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out.data() + pt.size()), 1);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

TEST(ChaCha20Poly1305, SplitUpdatesGiveTheOneShotBytes) {
  ChaCha20Poly1305 aead(rfc_key());
  for (std::size_t size : {127u, 128u, 129u, 191u, 192u, 255u, 1000u, 65536u, 65600u, 65611u, 65664u}) {
    Bytes pt(size);
    random_bytes(pt);
    const Bytes expected = one_shot_seal(rfc_key(), kNonce, kAad, pt);
    Bytes out(size + 16);
    aead.seal(kNonce, kAad, pt, out.data());
    EXPECT_EQ(out, expected) << size;
    Bytes in_place = pt;
    in_place.resize(size + 16);
    aead.seal(kNonce, kAad, BytesView(in_place.data(), size), in_place.data());
    EXPECT_EQ(in_place, expected) << size;
    ASSERT_TRUE(aead.open(kNonce, kAad, in_place, in_place.data())) << size;
    EXPECT_TRUE(std::equal(pt.begin(), pt.end(), in_place.begin())) << size;
  }
}

TEST(ChaCha20Poly1305, OpenRejectsTamperingAndWipesOutput) {
  ChaCha20Poly1305 aead(rfc_key());
  const Bytes good = hex(std::string(kCiphertext) + kTag);
  Bytes out(good.size());
  ASSERT_TRUE(aead.open(kNonce, kAad, good, out.data()));

  for (std::size_t pos : {std::size_t{0}, std::size_t{50}, good.size() - 1}) {
    Bytes bad = good;
    bad[pos] ^= 0x01;
    std::fill(out.begin(), out.end(), 0xaa);
    EXPECT_FALSE(aead.open(kNonce, kAad, bad, out.data())) << pos;
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 114), Bytes(114, 0)) << "unauthenticated plaintext leaked";
  }
  Bytes bad_aad = kAad;
  bad_aad[0] ^= 1;
  EXPECT_FALSE(aead.open(kNonce, bad_aad, good, out.data()));
  auto bad_nonce = kNonce;
  bad_nonce[11] ^= 1;
  EXPECT_FALSE(aead.open(bad_nonce, kAad, good, out.data()));
  EXPECT_FALSE(aead.open(kNonce, kAad, BytesView(good.data(), 15), out.data()));
  // And the object still works after failures.
  EXPECT_TRUE(aead.open(kNonce, kAad, good, out.data()));
}

TEST(ChaCha20Poly1305, EmptyPlaintextAndAdRoundTrip) {
  ChaCha20Poly1305::Key key;
  random_bytes(key);
  ChaCha20Poly1305 a(key);
  ChaCha20Poly1305::Nonce nonce{};
  std::array<std::uint8_t, 16> tag;
  a.seal(nonce, {}, {}, tag.data());
  EXPECT_TRUE(a.open(nonce, {}, tag, nullptr));  // nothing to write: a null output is fine
  tag[0] ^= 1;
  EXPECT_FALSE(a.open(nonce, {}, tag, nullptr));
}

TEST(ChaCha20Poly1305, NoiseSizedFramesManyNoncesAndMove) {
  ChaCha20Poly1305::Key key;
  random_bytes(key);
  ChaCha20Poly1305 sender(key);
  ChaCha20Poly1305 receiver_tmp(key);
  ChaCha20Poly1305 receiver = std::move(receiver_tmp);
  Bytes msg(65535 - 16);
  random_bytes(msg);
  Bytes wire(65535);
  Bytes back(65535);
  for (std::uint64_t n = 0; n < 20; ++n) {
    ChaCha20Poly1305::Nonce nonce{};
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));  // Noise: LE counter
    sender.seal(nonce, {}, msg, wire.data());
    ASSERT_TRUE(receiver.open(nonce, {}, wire, back.data()));
    ASSERT_EQ(Bytes(back.begin(), back.begin() + static_cast<std::ptrdiff_t>(msg.size())), msg);
  }
}

}  // namespace
}  // namespace stargate::crypto
