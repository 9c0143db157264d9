#pragma once
// libp2p Noise secure channel after the handshake (libp2p/specs noise, "Wire Format"): every Noise
// transport message travels as a 2-byte big-endian length followed by the ciphertext (at most 65535
// bytes, the 16-byte tag included). Sans-IO and the data hot path: encrypt() seals straight into the
// caller's output buffer and decrypt() opens whole frames straight from the caller's input into the
// plaintext buffer; only a frame split across two decrypt() calls is staged in an internal buffer
// (bounded by one frame).
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/noise/cipher_state.hpp"

#include <cstddef>

namespace stargate::p2p::noise {

// The generic Noise core is crypto::noise (the NATS transport uses it too); libp2p's channel is
// written in its terms.
using crypto::noise::CipherState;
using crypto::noise::max_message_size;
using crypto::noise::tag_size;

inline constexpr std::size_t frame_header_size = 2;
inline constexpr std::size_t max_frame_plaintext = max_message_size - tag_size;  // 65519

class SecureTransport {
 public:
  SecureTransport(CipherState send, CipherState recv);
  SecureTransport(SecureTransport&&) noexcept = default;
  SecureTransport& operator=(SecureTransport&&) noexcept = default;

  // Appends `plaintext` to `out` as ceil(size / 65519) frames (nothing for an empty plaintext).
  // Throws ErrorException only if the send nonce is exhausted (2^64-1 frames), which must end the
  // connection.
  void encrypt(BytesView plaintext, Bytes& out);
  // Wire size encrypt() produces for `plaintext_size` bytes.
  static std::size_t encrypted_size(std::size_t plaintext_size);

  // Consumes any number of bytes of framed ciphertext and appends the plaintext of every frame they
  // complete to `plaintext_out`; an incomplete trailing frame is kept for the next call. A frame
  // shorter than its tag or failing authentication is an error, after which the transport stays
  // failed: the connection must be closed. Plaintext of frames before the bad one has been appended;
  // nothing of the bad frame is.
  Result<void> decrypt(BytesView wire, Bytes& plaintext_out);

  bool failed() const { return failed_; }
  // Bytes of an incomplete frame held since the last decrypt() (at most 2 + 65535).
  std::size_t buffered() const { return pending_.size(); }
  // Bytes still needed to complete the frame being received (0 when at a frame boundary, 2 while the
  // length itself is incomplete): a hint for sizing the next read.
  std::size_t bytes_to_complete_frame() const;

  std::uint64_t send_nonce() const { return send_.nonce(); }
  std::uint64_t recv_nonce() const { return recv_.nonce(); }

 private:
  Result<void> open_frame(BytesView ciphertext, Bytes& plaintext_out);

  CipherState send_;
  CipherState recv_;
  Bytes pending_;  // an incomplete frame, its header included
  bool failed_ = false;
};

}  // namespace stargate::p2p::noise
