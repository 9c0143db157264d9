#include "crypto/noise/symmetric_state.hpp"

#include "crypto/random.hpp"

#include <algorithm>
#include <array>

namespace stargate::crypto::noise {

namespace {

// Noise's HKDF(ck, ikm, n) with n = 2 or 3 outputs of 32 bytes.
template <std::size_t N>
std::array<std::uint8_t, 32 * N> hkdf(const Hash& ck, BytesView ikm) {
  std::array<std::uint8_t, 32 * N> out{};
  crypto::hkdf_sha256(ck, ikm, {}, out);
  return out;
}

template <std::size_t N>
CipherState::Key key_at(const std::array<std::uint8_t, N>& okm, std::size_t index) {
  CipherState::Key k{};
  std::copy_n(okm.begin() + static_cast<std::ptrdiff_t>(32 * index), 32, k.begin());
  return k;
}

}  // namespace

SymmetricState::SymmetricState(std::string_view protocol_name) {
  if (protocol_name.size() <= hash_size) {
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    h_ = crypto::sha256(as_bytes(protocol_name));
  }
  ck_ = h_;
}

void SymmetricState::mix_key(BytesView ikm) {
  auto okm = hkdf<2>(ck_, ikm);
  std::copy_n(okm.begin(), 32, ck_.begin());
  auto k = key_at(okm, 1);
  cipher_.initialize_key(k);
  crypto::secure_wipe(okm);
  crypto::secure_wipe(k);
}

void SymmetricState::mix_hash(BytesView data) {
  // h = SHA256(h || data); one buffer keeps this to the plain sha256() interface.
  Bytes buf;
  buf.reserve(h_.size() + data.size());
  append(buf, h_);
  append(buf, data);
  h_ = crypto::sha256(buf);
}

void SymmetricState::mix_key_and_hash(BytesView ikm) {
  auto okm = hkdf<3>(ck_, ikm);
  std::copy_n(okm.begin(), 32, ck_.begin());
  auto temp_h = key_at(okm, 1);
  mix_hash(temp_h);
  auto k = key_at(okm, 2);
  cipher_.initialize_key(k);
  crypto::secure_wipe(okm);
  crypto::secure_wipe(k);
}

Result<void> SymmetricState::encrypt_and_hash(BytesView plaintext, Bytes& out) {
  const std::size_t start = out.size();
  if (!cipher_.has_key()) {
    append(out, plaintext);
  } else {
    out.resize(start + plaintext.size() + tag_size);
    if (auto r = cipher_.encrypt_into(h_, plaintext, out.data() + start); !r) {
      out.resize(start);
      return r;
    }
  }
  mix_hash(BytesView(out).subspan(start));
  return {};
}

Result<void> SymmetricState::decrypt_and_hash(BytesView ciphertext, Bytes& out) {
  const std::size_t start = out.size();
  if (!cipher_.has_key()) {
    append(out, ciphertext);
  } else {
    if (ciphertext.size() < tag_size) return make_error("noise: handshake ciphertext shorter than its tag");
    out.resize(start + ciphertext.size() - tag_size);
    if (auto r = cipher_.decrypt_into(h_, ciphertext, out.data() + start); !r) {
      crypto::secure_wipe(MutableBytesView(out).subspan(start));  // unauthenticated plaintext
      out.resize(start);
      return r;
    }
  }
  mix_hash(ciphertext);
  return {};
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  auto okm = hkdf<2>(ck_, {});
  auto k1 = key_at(okm, 0);
  auto k2 = key_at(okm, 1);
  std::pair<CipherState, CipherState> result{CipherState(k1), CipherState(k2)};
  crypto::secure_wipe(okm);
  crypto::secure_wipe(k1);
  crypto::secure_wipe(k2);
  return result;
}

}  // namespace stargate::crypto::noise
