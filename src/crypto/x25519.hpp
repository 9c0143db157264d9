#pragma once
// X25519 Diffie-Hellman (RFC 7748) through OpenSSL 3, for Noise.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/random.hpp"

#include <array>
#include <cstdint>
#include <memory>

typedef struct evp_pkey_st EVP_PKEY;

namespace stargate::crypto {

using X25519Key = std::array<std::uint8_t, 32>;

class X25519PrivateKey {
 public:
  static X25519PrivateKey generate();
  // From 32 bytes of an injected source (a seeded one makes the key reproducible, for tests).
  static X25519PrivateKey generate(const RandomSource& random);
  static Result<X25519PrivateKey> from_bytes(BytesView raw32);
  X25519PrivateKey(const X25519PrivateKey&);
  X25519PrivateKey& operator=(const X25519PrivateKey&);
  ~X25519PrivateKey();  // wipes the secret

  const X25519Key& public_key() const { return public_; }
  // The raw secret, for persisting a static key beside the identity; never log it.
  const X25519Key& secret_bytes() const { return secret_; }
  // Fails on a low-order peer key (all-zero shared secret), as RFC 7748 §6.1 allows checking.
  Result<X25519Key> diffie_hellman(BytesView peer_public32) const;

 private:
  X25519PrivateKey() = default;
  X25519Key secret_{};
  X25519Key public_{};
  // The imported key, kept so that a DH does not re-derive the public key (~25 µs) each time;
  // shared between copies (immutable).
  std::shared_ptr<EVP_PKEY> pkey_;
};

}  // namespace stargate::crypto
