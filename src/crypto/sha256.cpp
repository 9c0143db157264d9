#include "crypto/sha256.hpp"

#include "crypto/openssl_util.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <stdexcept>

namespace stargate::crypto {
namespace {

// Algorithm objects are fetched once per process (fetching walks OpenSSL's provider store under a
// lock); contexts are kept per thread and reused, so a call allocates nothing on the digest path.
const EVP_MD* sha256_md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) detail::throw_openssl_error("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) detail::throw_openssl_error("EVP_MAC_fetch(HMAC)");
    return m;
  }();
  return mac;
}

EVP_KDF* hkdf_kdf() {
  static EVP_KDF* kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) detail::throw_openssl_error("EVP_KDF_fetch(HKDF)");
    return k;
  }();
  return kdf;
}

struct MdCtxHolder {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtxHolder() { EVP_MD_CTX_free(ctx); }
};

struct MacCtxHolder {
  EVP_MAC_CTX* ctx = nullptr;
  MacCtxHolder() {
    ctx = EVP_MAC_CTX_new(hmac_mac());
    if (ctx == nullptr) return;
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
    }
  }
  ~MacCtxHolder() { EVP_MAC_CTX_free(ctx); }
};

struct KdfCtxHolder {
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(hkdf_kdf());
  ~KdfCtxHolder() { EVP_KDF_CTX_free(ctx); }
};

// A non-null pointer for empty inputs: OpenSSL treats a null key in EVP_MAC_init as "keep the
// previous key", which would be wrong for a reused context.
const unsigned char kEmpty[1] = {0};
const unsigned char* nonnull(BytesView b) { return b.empty() ? kEmpty : b.data(); }

}  // namespace

Sha256Digest sha256(BytesView data) {
  thread_local MdCtxHolder holder;
  if (holder.ctx == nullptr) detail::throw_openssl_error("EVP_MD_CTX_new");
  Sha256Digest out;
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(holder.ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(holder.ctx, nonnull(data), data.size()) != 1 ||
      EVP_DigestFinal_ex(holder.ctx, out.data(), &len) != 1 || len != out.size()) {
    detail::throw_openssl_error("SHA-256");
  }
  return out;
}

Sha256Digest hmac_sha256(BytesView key, BytesView data) {
  thread_local MacCtxHolder holder;
  if (holder.ctx == nullptr) detail::throw_openssl_error("HMAC-SHA256 context");
  Sha256Digest out;
  std::size_t len = 0;
  if (EVP_MAC_init(holder.ctx, nonnull(key), key.size(), nullptr) != 1 ||
      EVP_MAC_update(holder.ctx, nonnull(data), data.size()) != 1 ||
      EVP_MAC_final(holder.ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
    detail::throw_openssl_error("HMAC-SHA256");
  }
  return out;
}

void hkdf_sha256(BytesView salt, BytesView ikm, BytesView info, MutableBytesView out) {
  if (out.size() > 255 * 32) throw std::invalid_argument("hkdf_sha256: output longer than 255 * 32 bytes");
  if (out.empty()) return;
  thread_local KdfCtxHolder holder;
  if (holder.ctx == nullptr) detail::throw_openssl_error("EVP_KDF_CTX_new(HKDF)");
  // Reset drops the previous call's salt, key and info (OpenSSL keeps a parameter that is not
  // set again, and appends info), so every call starts from a clean context.
  EVP_KDF_CTX_reset(holder.ctx);
  char digest_name[] = "SHA256";
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(nonnull(ikm)), ikm.size());
  // An absent salt is HashLen zero bytes (RFC 5869 §2.2), which is also OpenSSL's default.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<unsigned char*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  if (EVP_KDF_derive(holder.ctx, out.data(), out.size(), params) != 1) {
    detail::throw_openssl_error("HKDF-SHA256");
  }
}

}  // namespace stargate::crypto
