#pragma once
// libp2p's `/noise` secure-channel handshake (libp2p/specs noise/README.md): Noise_XX_25519_ChaChaPoly_SHA256,
// empty prologue, every message framed by a 2-byte big-endian length; messages 2 (responder) and 3
// (initiator) carry a NoiseHandshakePayload: the libp2p identity key, its Ed25519 signature over
// "noise-libp2p-static-key:" || the Noise static key, and extensions (stream muxers).
//
// Sans-IO: feed received bytes to receive(), send what take_output() returns, and once done() (and
// the last output is sent) take_transport() for the encrypted channel.
//
//   Libp2pNoiseHandshake hs(Role::initiator, static_key, {"/yamux/1.0.0"}, expected_peer);
//   send(hs.take_output());
//   while (!hs.done()) { if (auto r = hs.receive(read_some()); !r) fail(r.error()); send(hs.take_output()); }
//   auto [transport, leftover] = hs.take_transport();   // leftover: ciphertext received after the handshake
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/noise/handshake_state.hpp"
#include "crypto/x25519.hpp"
#include "p2p/noise/secure_transport.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::noise {

// Part of this handshake's interface (its role, its hash); the state machine is crypto::noise's.
using crypto::noise::Hash;
using crypto::noise::Role;

inline constexpr std::string_view libp2p_protocol_id = "/noise";
inline constexpr std::string_view static_key_signature_prefix = "noise-libp2p-static-key:";

// "noise-libp2p-static-key:" || the static X25519 public key: what the identity key signs.
Bytes static_key_signature_message(const crypto::X25519Key& static_public_key);

// The Noise static key of a process and the identity's signature over it, made once: with it a
// handshake signs nothing, so its critical path holds only the peer's verification and the DHs.
class StaticNoiseKey {
 public:
  static StaticNoiseKey generate(const crypto::Ed25519PrivateKey& identity);
  static StaticNoiseKey from_key(crypto::X25519PrivateKey key, const crypto::Ed25519PrivateKey& identity);

  const crypto::X25519PrivateKey& key() const { return key_; }
  const crypto::Ed25519Signature& signature() const { return signature_; }
  const crypto::Ed25519PublicKey& identity() const { return identity_; }
  // The identity as a libp2p PublicKey protobuf (the payload's identity_key).
  const Bytes& identity_key_proto() const { return identity_proto_; }

 private:
  StaticNoiseKey(crypto::X25519PrivateKey key, const crypto::Ed25519PrivateKey& identity);
  crypto::X25519PrivateKey key_;
  crypto::Ed25519Signature signature_{};
  crypto::Ed25519PublicKey identity_;
  Bytes identity_proto_;
};

// Who the peer proved to be, from its handshake payload.
struct RemoteIdentity {
  crypto::Ed25519PublicKey public_key;
  crypto::PeerId peer_id;
  std::vector<std::string> stream_muxers;
  std::vector<Bytes> webtransport_certhashes;
};

// Serialises this side's NoiseHandshakePayload.
Bytes encode_handshake_payload(const StaticNoiseKey& local, std::span<const std::string> stream_muxers);
// Parses and checks a peer's NoiseHandshakePayload against the static key it used in the Noise
// handshake: both fields present, an Ed25519 identity key, the PeerId equal to `expected` when given,
// and a valid signature. Errors name what failed.
Result<RemoteIdentity> verify_handshake_payload(BytesView payload, const crypto::X25519Key& remote_static,
                                                const std::optional<crypto::PeerId>& expected = std::nullopt);

// The channel a finished handshake hands over, with any ciphertext that arrived in the same reads
// as the last handshake message: pass `leftover` to transport.decrypt() first.
struct NoiseSession {
  SecureTransport transport;
  Bytes leftover;
};

class Libp2pNoiseHandshake {
 public:
  // The prologue is empty (spec). The initiator's first message is queued at once. `expected_remote`
  // (dialer side, when the address carried /p2p/<id>) makes a different peer an error.
  Libp2pNoiseHandshake(Role role, const StaticNoiseKey& local, std::vector<std::string> stream_muxers = {},
                       std::optional<crypto::PeerId> expected_remote = std::nullopt);

  // Framed bytes to send, in order; empties the queue.
  Bytes take_output() { return std::exchange(output_, {}); }
  bool has_output() const { return !output_.empty(); }

  // Consumes framed handshake bytes, any amount at a time (an incomplete frame is buffered, at most
  // 2 + 65535 bytes). Bytes after the final handshake message are kept for the transport. The first
  // error fails the handshake for good.
  Result<void> receive(BytesView bytes);

  bool done() const { return remote_.has_value() && hs_.is_complete(); }
  bool failed() const { return failed_; }
  Role role() const { return hs_.role(); }

  // After done():
  const crypto::PeerId& remote_peer_id() const { return remote_->peer_id; }
  const crypto::Ed25519PublicKey& remote_public_key() const { return remote_->public_key; }
  const std::vector<std::string>& remote_stream_muxers() const { return remote_->stream_muxers; }
  const std::vector<Bytes>& remote_webtransport_certhashes() const { return remote_->webtransport_certhashes; }
  const Hash& handshake_hash() const { return hs_.handshake_hash(); }
  const crypto::X25519Key& remote_static_key() const { return *hs_.remote_static(); }

  // After done() and after the last take_output() has been queued for sending: the encrypted channel.
  // Call once; throws std::logic_error before done().
  NoiseSession take_transport();

 private:
  Result<void> on_message(BytesView message);
  Result<void> send_message(BytesView payload);
  Result<void> fail(Error e);

  crypto::noise::HandshakeState hs_;
  Bytes local_payload_;
  std::optional<crypto::PeerId> expected_;
  std::optional<RemoteIdentity> remote_;
  Bytes output_;
  Bytes input_;     // the incomplete incoming frame, header included
  Bytes leftover_;  // bytes after the last handshake message
  bool failed_ = false;
};

}  // namespace stargate::p2p::noise
