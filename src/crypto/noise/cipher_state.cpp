#include "crypto/noise/cipher_state.hpp"

#include "crypto/random.hpp"

#include <algorithm>
#include <array>

namespace stargate::crypto::noise {

crypto::ChaCha20Poly1305::Nonce make_nonce(std::uint64_t n) {
  crypto::ChaCha20Poly1305::Nonce nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
  return nonce;
}

void CipherState::initialize_key(const Key& k) {
  aead_.emplace(k);
  n_ = 0;
}

Result<void> CipherState::seal_with_nonce_into(std::uint64_t n, BytesView ad, BytesView plaintext,
                                               std::uint8_t* out) {
  if (!aead_) return make_error("noise: cipher state has no key");
  if (n == max_nonce) return make_error("noise: nonce exhausted");
  aead_->seal(make_nonce(n), ad, plaintext, out);
  return {};
}

Result<void> CipherState::open_with_nonce_into(std::uint64_t n, BytesView ad, BytesView ciphertext,
                                               std::uint8_t* out) {
  if (!aead_) return make_error("noise: cipher state has no key");
  if (n == max_nonce) return make_error("noise: nonce exhausted");
  if (ciphertext.size() < tag_size) return make_error("noise: ciphertext shorter than its tag");
  if (!aead_->open(make_nonce(n), ad, ciphertext, out)) return make_error("noise: decryption failed (bad tag)");
  return {};
}

Result<Bytes> CipherState::seal_with_nonce(std::uint64_t n, BytesView ad, BytesView plaintext) {
  Bytes out(plaintext.size() + tag_size);
  if (auto r = seal_with_nonce_into(n, ad, plaintext, out.data()); !r) return r.error();
  return out;
}

Result<Bytes> CipherState::open_with_nonce(std::uint64_t n, BytesView ad, BytesView ciphertext) {
  if (ciphertext.size() < tag_size) return make_error("noise: ciphertext shorter than its tag");
  Bytes out(ciphertext.size() - tag_size);
  if (auto r = open_with_nonce_into(n, ad, ciphertext, out.data()); !r) return r.error();
  return out;
}

Result<void> CipherState::encrypt_into(BytesView ad, BytesView plaintext, std::uint8_t* out) {
  if (auto r = seal_with_nonce_into(n_, ad, plaintext, out); !r) return r;
  ++n_;
  return {};
}

Result<void> CipherState::decrypt_into(BytesView ad, BytesView ciphertext, std::uint8_t* out) {
  if (auto r = open_with_nonce_into(n_, ad, ciphertext, out); !r) return r;
  ++n_;
  return {};
}

Result<Bytes> CipherState::encrypt_with_ad(BytesView ad, BytesView plaintext) {
  if (!aead_) return Bytes(plaintext.begin(), plaintext.end());
  Bytes out(plaintext.size() + tag_size);
  if (auto r = encrypt_into(ad, plaintext, out.data()); !r) return r.error();
  return out;
}

Result<Bytes> CipherState::decrypt_with_ad(BytesView ad, BytesView ciphertext) {
  if (!aead_) return Bytes(ciphertext.begin(), ciphertext.end());
  if (ciphertext.size() < tag_size) return make_error("noise: ciphertext shorter than its tag");
  Bytes out(ciphertext.size() - tag_size);
  if (auto r = decrypt_into(ad, ciphertext, out.data()); !r) {
    crypto::secure_wipe(out);  // unauthenticated plaintext
    return r.error();
  }
  return out;
}

void CipherState::rekey() {
  if (!aead_) return;
  std::array<std::uint8_t, key_size + tag_size> buf{};
  aead_->seal(make_nonce(max_nonce), {}, BytesView(buf.data(), key_size), buf.data());
  Key k{};
  std::copy_n(buf.begin(), key_size, k.begin());
  aead_.emplace(k);
  crypto::secure_wipe(buf);
  crypto::secure_wipe(k);
}

}  // namespace stargate::crypto::noise
