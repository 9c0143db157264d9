#pragma once
// Ed25519 identity keys (RFC 8032) through OpenSSL 3's EVP_PKEY interface.
#include "base/bytes.hpp"
#include "base/result.hpp"

#include <array>
#include <cstdint>
#include <memory>

typedef struct evp_pkey_st EVP_PKEY;

namespace stargate::crypto {

using Ed25519Signature = std::array<std::uint8_t, 64>;

class Ed25519PublicKey {
 public:
  static Result<Ed25519PublicKey> from_bytes(BytesView raw32);
  const std::array<std::uint8_t, 32>& bytes() const { return raw_; }
  bool verify(BytesView message, BytesView signature) const;
  friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) { return a.raw_ == b.raw_; }

 private:
  struct PkeyDeleter { void operator()(EVP_PKEY*) const; };
  std::array<std::uint8_t, 32> raw_{};
  std::shared_ptr<EVP_PKEY> pkey_;  // shared: copies of a public key are cheap and immutable
};

class Ed25519PrivateKey {
 public:
  static Ed25519PrivateKey generate();
  static Result<Ed25519PrivateKey> from_seed(BytesView seed32);
  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept;
  ~Ed25519PrivateKey();

  // The 32-byte RFC 8032 seed. Handle with care: never log or transmit it.
  std::array<std::uint8_t, 32> seed() const;
  const Ed25519PublicKey& public_key() const { return public_; }
  // Another handle on the same key (OpenSSL reference count; no key bytes are copied), for a
  // second owner such as a relay service beside its host.
  Ed25519PrivateKey clone() const;
  Ed25519Signature sign(BytesView message) const;

 private:
  Ed25519PrivateKey() = default;
  EVP_PKEY* pkey_ = nullptr;
  Ed25519PublicKey public_;
};

}  // namespace stargate::crypto
