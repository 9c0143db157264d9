#pragma once
// Noise SymmetricState (rev 34, §5.2) for SHA256 + ChaChaPoly: chaining key, handshake hash and the
// CipherState that encrypts handshake payloads.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/sha256.hpp"
#include "crypto/noise/cipher_state.hpp"

#include <string_view>
#include <utility>

namespace stargate::crypto::noise {

inline constexpr std::size_t hash_size = 32;
using Hash = crypto::Sha256Digest;

class SymmetricState {
 public:
  // InitializeSymmetric(protocol_name): h = name padded to 32 bytes, or SHA256(name) if longer.
  explicit SymmetricState(std::string_view protocol_name);

  void mix_key(BytesView input_key_material);
  void mix_hash(BytesView data);
  // MixKeyAndHash (§5.2), for PSK modes.
  void mix_key_and_hash(BytesView input_key_material);

  bool has_key() const { return cipher_.has_key(); }
  const Hash& handshake_hash() const { return h_; }

  // EncryptAndHash: appends the ciphertext (or plaintext while there is no key) to `out`.
  Result<void> encrypt_and_hash(BytesView plaintext, Bytes& out);
  // DecryptAndHash: appends the plaintext to `out`; on failure `out` is left as it was.
  Result<void> decrypt_and_hash(BytesView ciphertext, Bytes& out);

  // Split(): {c1, c2}, c1 for initiator→responder traffic, c2 for responder→initiator.
  std::pair<CipherState, CipherState> split() const;

 private:
  Hash ck_{};
  Hash h_{};
  CipherState cipher_;
};

}  // namespace stargate::crypto::noise
