#pragma once
// Noise CipherState (Noise Protocol Framework rev 34, §5.1) for ChaChaPoly: a key and a 64-bit
// nonce counter. Sans-IO; shared by the handshake, by libp2p's secure channel and by the NATS
// transport (which uses the explicit-nonce calls for a WireGuard-style counter carried on the wire).
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/chacha20poly1305.hpp"

#include <cstdint>
#include <limits>
#include <optional>

namespace stargate::crypto::noise {

inline constexpr std::size_t tag_size = crypto::ChaCha20Poly1305::tag_size;  // 16
inline constexpr std::size_t key_size = crypto::ChaCha20Poly1305::key_size;  // 32
// Largest Noise message (handshake or transport), tag included (Noise §3).
inline constexpr std::size_t max_message_size = 65535;
// Nonce 2^64-1 is reserved (Noise §5.1): a counter that reaches it is exhausted.
inline constexpr std::uint64_t max_nonce = std::numeric_limits<std::uint64_t>::max();

// Noise's ChaChaPoly nonce: 32 bits of zeros followed by the little-endian 64-bit counter.
crypto::ChaCha20Poly1305::Nonce make_nonce(std::uint64_t n);

class CipherState {
 public:
  using Key = crypto::ChaCha20Poly1305::Key;

  CipherState() = default;  // no key: encryption is the identity (Noise §5.1)
  explicit CipherState(const Key& k) { initialize_key(k); }
  CipherState(CipherState&&) noexcept = default;
  CipherState& operator=(CipherState&&) noexcept = default;
  CipherState(const CipherState&) = delete;
  CipherState& operator=(const CipherState&) = delete;

  // InitializeKey(k): sets the key and resets the nonce to 0.
  void initialize_key(const Key& k);
  bool has_key() const { return aead_.has_value(); }
  std::uint64_t nonce() const { return n_; }
  void set_nonce(std::uint64_t n) { n_ = n; }

  // EncryptWithAd / DecryptWithAd. Without a key they return the input unchanged. On success the
  // nonce advances; a failed decryption (bad tag) leaves it unchanged. Errors once the nonce is
  // exhausted.
  Result<Bytes> encrypt_with_ad(BytesView ad, BytesView plaintext);
  Result<Bytes> decrypt_with_ad(BytesView ad, BytesView ciphertext);

  // Allocation-free forms for the hot path (require has_key()). encrypt_into writes
  // plaintext.size() + tag_size bytes to `out`, decrypt_into writes ciphertext.size() - tag_size
  // bytes; `out` may alias the input exactly (in place). On a bad tag decrypt_into returns an error,
  // does not advance the nonce and leaves unauthenticated bytes in `out`: discard them.
  Result<void> encrypt_into(BytesView ad, BytesView plaintext, std::uint8_t* out);
  Result<void> decrypt_into(BytesView ad, BytesView ciphertext, std::uint8_t* out);

  // Explicit-nonce AEAD with this key, for transports that carry the counter on the wire (replay
  // protection is then the caller's job). They neither read nor advance the internal counter.
  // n must be < max_nonce. Same aliasing rules as above.
  Result<Bytes> seal_with_nonce(std::uint64_t n, BytesView ad, BytesView plaintext);
  Result<Bytes> open_with_nonce(std::uint64_t n, BytesView ad, BytesView ciphertext);
  Result<void> seal_with_nonce_into(std::uint64_t n, BytesView ad, BytesView plaintext, std::uint8_t* out);
  Result<void> open_with_nonce_into(std::uint64_t n, BytesView ad, BytesView ciphertext, std::uint8_t* out);

  // Rekey() (Noise §4.2 / §11.3): k = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes).
  // The nonce is left as it is. No-op without a key.
  void rekey();

 private:
  std::optional<crypto::ChaCha20Poly1305> aead_;
  std::uint64_t n_ = 0;
};

}  // namespace stargate::crypto::noise
