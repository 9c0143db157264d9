#pragma once
// ChaCha20-Poly1305 AEAD (RFC 8439) through OpenSSL 3. One object per key: the cipher contexts are
// initialised with the key once and only the nonce changes per message (the hot path of Noise).
#include "base/bytes.hpp"

#include <array>
#include <cstdint>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace stargate::crypto {

class ChaCha20Poly1305 {
 public:
  static constexpr std::size_t key_size = 32;
  static constexpr std::size_t nonce_size = 12;
  static constexpr std::size_t tag_size = 16;
  using Key = std::array<std::uint8_t, key_size>;
  using Nonce = std::array<std::uint8_t, nonce_size>;

  explicit ChaCha20Poly1305(const Key& key);
  ChaCha20Poly1305(ChaCha20Poly1305&&) noexcept;
  ChaCha20Poly1305& operator=(ChaCha20Poly1305&&) noexcept;
  ChaCha20Poly1305(const ChaCha20Poly1305&) = delete;
  ChaCha20Poly1305& operator=(const ChaCha20Poly1305&) = delete;
  ~ChaCha20Poly1305();

  // Writes plaintext.size() + tag_size bytes to `out` (which must be that large; it may alias plaintext).
  void seal(const Nonce& nonce, BytesView ad, BytesView plaintext, std::uint8_t* out);
  // Writes ciphertext.size() - tag_size bytes to `out` (may alias ciphertext); false if the tag is wrong.
  [[nodiscard]] bool open(const Nonce& nonce, BytesView ad, BytesView ciphertext, std::uint8_t* out);

 private:
  EVP_CIPHER_CTX* seal_ctx_ = nullptr;
  EVP_CIPHER_CTX* open_ctx_ = nullptr;
};

}  // namespace stargate::crypto
