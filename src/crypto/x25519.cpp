#include "crypto/x25519.hpp"

#include "crypto/openssl_util.hpp"
#include "crypto/random.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace stargate::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

}  // namespace

X25519PrivateKey X25519PrivateKey::generate() { return generate(or_system_random({})); }

X25519PrivateKey X25519PrivateKey::generate(const RandomSource& random) {
  X25519Key secret;
  random(secret);
  auto key = from_bytes(secret);
  secure_wipe(secret);
  if (!key) throw std::runtime_error("X25519 key generation failed: " + key.error().message);
  return *key;
}

Result<X25519PrivateKey> X25519PrivateKey::from_bytes(BytesView raw32) {
  if (raw32.size() != 32) {
    return make_error("X25519 private key must be 32 bytes, got " + std::to_string(raw32.size()));
  }
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, raw32.data(), raw32.size()));
  if (!pkey) return make_error("invalid X25519 private key: " + detail::openssl_error_string());
  X25519PrivateKey key;
  std::size_t len = key.public_.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), key.public_.data(), &len) != 1 || len != 32) {
    return make_error("X25519 public key derivation failed: " + detail::openssl_error_string());
  }
  std::copy(raw32.begin(), raw32.end(), key.secret_.begin());
  key.pkey_ = std::shared_ptr<EVP_PKEY>(pkey.release(), PkeyFree{});
  return key;
}

X25519PrivateKey::X25519PrivateKey(const X25519PrivateKey&) = default;
X25519PrivateKey& X25519PrivateKey::operator=(const X25519PrivateKey&) = default;

// The EVP_PKEY (shared with copies) wipes its own copy of the secret when the last owner frees it.
X25519PrivateKey::~X25519PrivateKey() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

Result<X25519Key> X25519PrivateKey::diffie_hellman(BytesView peer_public32) const {
  if (peer_public32.size() != 32) {
    return make_error("X25519 public key must be 32 bytes, got " + std::to_string(peer_public32.size()));
  }
  if (!pkey_) throw std::logic_error("X25519PrivateKey::diffie_hellman on a key without material");
  PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public32.data(), 32));
  if (!peer) return make_error("X25519 key import failed: " + detail::openssl_error_string());
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return make_error("X25519 derive setup failed: " + detail::openssl_error_string());
  }
  X25519Key shared;
  std::size_t len = shared.size();
  // OpenSSL itself fails the derivation when the result is all zero (a low-order peer key).
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    detail::openssl_error_string();
    return make_error("X25519 shared secret rejected (low-order peer public key)");
  }
  X25519Key zero{};
  if (CRYPTO_memcmp(shared.data(), zero.data(), shared.size()) == 0) {
    return make_error("X25519 shared secret rejected (low-order peer public key)");
  }
  return shared;
}

}  // namespace stargate::crypto
