#include "crypto/chacha20poly1305.hpp"

#include "crypto/openssl_util.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>
#include <utility>

namespace stargate::crypto {
namespace {

const EVP_CIPHER* chacha_cipher() {
  static EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    if (c == nullptr) detail::throw_openssl_error("EVP_CIPHER_fetch(ChaCha20-Poly1305)");
    return c;
  }();
  return cipher;
}

// EVP_*Update takes an int length: feed larger inputs in pieces (Noise frames never need it).
constexpr std::size_t kMaxChunk = std::size_t{1} << 30;

bool feed_aad(EVP_CIPHER_CTX* ctx, BytesView ad) {
  for (std::size_t off = 0; off < ad.size();) {
    auto n = std::min(ad.size() - off, kMaxChunk);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &outl, ad.data() + off, static_cast<int>(n)) != 1) return false;
    off += n;
  }
  return true;
}

// OpenSSL 3.0's ChaCha20-Poly1305 (its AVX-512 code at least) runs a third slower on an update
// whose length holds an odd number of 64-byte blocks (65,600 bytes: ~17 µs here, 65,536 or 65,664:
// ~13 µs). Splitting such an update into an even number of blocks and a short rest gives the same
// bytes (the cipher and the MAC are streams) at the fast speed.
constexpr std::size_t kEvenBlocks = 128;

bool feed_data(EVP_CIPHER_CTX* ctx, const std::uint8_t* in, std::size_t size, std::uint8_t* out) {
  for (std::size_t off = 0; off < size;) {
    auto n = std::min(size - off, kMaxChunk);
    if (n > kEvenBlocks && n % kEvenBlocks != 0) n -= n % kEvenBlocks;
    int outl = 0;
    if (EVP_CipherUpdate(ctx, out + off, &outl, in + off, static_cast<int>(n)) != 1 ||
        static_cast<std::size_t>(outl) != n) {
      return false;
    }
    off += n;
  }
  return true;
}

EVP_CIPHER_CTX* make_ctx(const ChaCha20Poly1305::Key& key, int enc) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) detail::throw_openssl_error("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex2(ctx, chacha_cipher(), key.data(), nullptr, enc, nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    detail::throw_openssl_error("ChaCha20-Poly1305 key setup");
  }
  return ctx;
}

}  // namespace

ChaCha20Poly1305::ChaCha20Poly1305(const Key& key) : seal_ctx_(make_ctx(key, 1)) {
  try {
    open_ctx_ = make_ctx(key, 0);
  } catch (...) {
    EVP_CIPHER_CTX_free(seal_ctx_);
    throw;
  }
}

ChaCha20Poly1305::ChaCha20Poly1305(ChaCha20Poly1305&& other) noexcept
    : seal_ctx_(std::exchange(other.seal_ctx_, nullptr)), open_ctx_(std::exchange(other.open_ctx_, nullptr)) {}

ChaCha20Poly1305& ChaCha20Poly1305::operator=(ChaCha20Poly1305&& other) noexcept {
  if (this != &other) {
    EVP_CIPHER_CTX_free(seal_ctx_);
    EVP_CIPHER_CTX_free(open_ctx_);
    seal_ctx_ = std::exchange(other.seal_ctx_, nullptr);
    open_ctx_ = std::exchange(other.open_ctx_, nullptr);
  }
  return *this;
}

// EVP_CIPHER_CTX_free wipes the key schedule.
ChaCha20Poly1305::~ChaCha20Poly1305() {
  EVP_CIPHER_CTX_free(seal_ctx_);
  EVP_CIPHER_CTX_free(open_ctx_);
}

void ChaCha20Poly1305::seal(const Nonce& nonce, BytesView ad, BytesView plaintext, std::uint8_t* out) {
  if (seal_ctx_ == nullptr) throw std::logic_error("ChaCha20Poly1305::seal on a moved-from object");
  int outl = 0;
  std::uint8_t final_scratch[16];  // Final of a stream AEAD writes nothing; never hand it `out` (may be null)
  // Only the nonce changes: re-initialising with a null cipher and key keeps the key schedule.
  if (EVP_CipherInit_ex2(seal_ctx_, nullptr, nullptr, nonce.data(), 1, nullptr) != 1 ||
      !feed_aad(seal_ctx_, ad) || !feed_data(seal_ctx_, plaintext.data(), plaintext.size(), out) ||
      EVP_CipherFinal_ex(seal_ctx_, final_scratch, &outl) != 1 || outl != 0 ||
      EVP_CIPHER_CTX_ctrl(seal_ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag_size),
                          out + plaintext.size()) != 1) {
    detail::throw_openssl_error("ChaCha20-Poly1305 seal");
  }
}

bool ChaCha20Poly1305::open(const Nonce& nonce, BytesView ad, BytesView ciphertext, std::uint8_t* out) {
  if (open_ctx_ == nullptr) throw std::logic_error("ChaCha20Poly1305::open on a moved-from object");
  if (ciphertext.size() < tag_size) return false;
  const std::size_t n = ciphertext.size() - tag_size;
  // Copy the tag first: with in-place decryption `out` overlaps the ciphertext (not the tag, but
  // OpenSSL wants a mutable buffer for SET_TAG anyway).
  std::array<std::uint8_t, tag_size> tag;
  std::copy(ciphertext.begin() + static_cast<std::ptrdiff_t>(n), ciphertext.end(), tag.begin());
  int outl = 0;
  std::uint8_t final_scratch[16];
  if (EVP_CipherInit_ex2(open_ctx_, nullptr, nullptr, nonce.data(), 0, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(open_ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag_size), tag.data()) != 1 ||
      !feed_aad(open_ctx_, ad) || !feed_data(open_ctx_, ciphertext.data(), n, out)) {
    detail::throw_openssl_error("ChaCha20-Poly1305 open");
  }
  if (EVP_CipherFinal_ex(open_ctx_, final_scratch, &outl) != 1 || outl != 0) {
    detail::openssl_error_string();  // drop the queued "bad decrypt"
    if (n > 0) OPENSSL_cleanse(out, n);  // never hand out unauthenticated plaintext
    return false;
  }
  return true;
}

}  // namespace stargate::crypto
