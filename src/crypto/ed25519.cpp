#include "crypto/ed25519.hpp"

#include "crypto/openssl_util.hpp"
#include "crypto/random.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

namespace stargate::crypto {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char kEmpty[1] = {0};

}  // namespace

void Ed25519PublicKey::PkeyDeleter::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

Result<Ed25519PublicKey> Ed25519PublicKey::from_bytes(BytesView raw32) {
  if (raw32.size() != 32) {
    return make_error("Ed25519 public key must be 32 bytes, got " + std::to_string(raw32.size()));
  }
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw32.data(), raw32.size());
  if (p == nullptr) return make_error("invalid Ed25519 public key: " + detail::openssl_error_string());
  Ed25519PublicKey key;
  std::copy(raw32.begin(), raw32.end(), key.raw_.begin());
  key.pkey_ = std::shared_ptr<EVP_PKEY>(p, PkeyDeleter{});
  return key;
}

bool Ed25519PublicKey::verify(BytesView message, BytesView signature) const {
  if (signature.size() != 64 || !pkey_) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) detail::throw_openssl_error("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1) {
    detail::throw_openssl_error("EVP_DigestVerifyInit(Ed25519)");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            message.empty() ? kEmpty : message.data(), message.size());
  if (rc != 1) {
    detail::openssl_error_string();  // a bad signature leaves an entry on the error queue: drop it
    return false;
  }
  return true;
}

Ed25519PrivateKey Ed25519PrivateKey::generate() {
  std::array<std::uint8_t, 32> seed;
  random_bytes(seed);
  auto key = from_seed(seed);
  secure_wipe(seed);
  if (!key) throw std::runtime_error("Ed25519 key generation failed: " + key.error().message);
  return std::move(*key);
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::from_seed(BytesView seed32) {
  if (seed32.size() != 32) {
    return make_error("Ed25519 seed must be 32 bytes, got " + std::to_string(seed32.size()));
  }
  Ed25519PrivateKey key;
  key.pkey_ = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed32.data(), seed32.size());
  if (key.pkey_ == nullptr) {
    return make_error("invalid Ed25519 seed: " + detail::openssl_error_string());
  }
  std::array<std::uint8_t, 32> pub;
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.pkey_, pub.data(), &len) != 1 || len != pub.size()) {
    return make_error("Ed25519 public key derivation failed: " + detail::openssl_error_string());
  }
  auto public_key = Ed25519PublicKey::from_bytes(pub);
  if (!public_key) return public_key.error();
  key.public_ = std::move(*public_key);
  return key;
}

Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&& other) noexcept
    : pkey_(std::exchange(other.pkey_, nullptr)), public_(std::move(other.public_)) {}

Ed25519PrivateKey& Ed25519PrivateKey::operator=(Ed25519PrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(pkey_);  // OpenSSL wipes the key material when it frees it
    pkey_ = std::exchange(other.pkey_, nullptr);
    public_ = std::move(other.public_);
  }
  return *this;
}

Ed25519PrivateKey::~Ed25519PrivateKey() { EVP_PKEY_free(pkey_); }

Ed25519PrivateKey Ed25519PrivateKey::clone() const {
  if (pkey_ == nullptr) throw std::logic_error("Ed25519PrivateKey::clone on a moved-from key");
  if (EVP_PKEY_up_ref(pkey_) != 1) detail::throw_openssl_error("EVP_PKEY_up_ref");
  Ed25519PrivateKey copy;
  copy.pkey_ = pkey_;
  copy.public_ = public_;
  return copy;
}

std::array<std::uint8_t, 32> Ed25519PrivateKey::seed() const {
  if (pkey_ == nullptr) throw std::logic_error("Ed25519PrivateKey::seed on a moved-from key");
  std::array<std::uint8_t, 32> out;
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(pkey_, out.data(), &len) != 1 || len != out.size()) {
    detail::throw_openssl_error("EVP_PKEY_get_raw_private_key(Ed25519)");
  }
  return out;
}

Ed25519Signature Ed25519PrivateKey::sign(BytesView message) const {
  if (pkey_ == nullptr) throw std::logic_error("Ed25519PrivateKey::sign on a moved-from key");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) detail::throw_openssl_error("EVP_MD_CTX_new");
  Ed25519Signature sig;
  std::size_t len = sig.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.empty() ? kEmpty : message.data(),
                     message.size()) != 1 ||
      len != sig.size()) {
    detail::throw_openssl_error("Ed25519 sign");
  }
  return sig;
}

}  // namespace stargate::crypto
