#pragma once
// How an agent's Ed25519 identity vouches for its X25519 static key on the NATS side: a signature
// over a purpose label followed by the static key, made once per key. The sealed sessions (IK
// message 1) and the task envelopes carry one each, under different labels, so that a signature made
// for one purpose can never pass for the other (the two messages even differ in length). Shared by
// both so that they verify it, and derive the identity from it, the same way.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace stargate::nats::sealed {

// A verified Ed25519 identity, its short agent id (first 16 bytes of SHA-256 of the key, hex) and
// its libp2p PeerId (text), computed once per session or envelope.
struct PeerIdentity {
  crypto::Ed25519PublicKey public_key;
  std::string agent_id;
  std::string peer_id;
};

PeerIdentity make_peer_identity(const crypto::Ed25519PublicKey& key);

enum class BindingPurpose : std::uint8_t {
  session,  // "stargate-nats-static-key:" (wire.hpp's static_key_signature_prefix)
  task,     // "stargate-nats-task-static-key:"
};

inline constexpr std::string_view task_static_key_signature_prefix = "stargate-nats-task-static-key:";

// The label of `purpose` || the static public key: what the identity signs.
Bytes binding_message(BindingPurpose purpose, const crypto::X25519Key& static_public_key);

crypto::Ed25519Signature sign_binding(BindingPurpose purpose, const crypto::Ed25519PrivateKey& identity,
                                      const crypto::X25519Key& static_public_key);

// Checks that `identity` (32 raw bytes from the peer) signed `static_public_key` (the key the Noise
// handshake authenticated) for `purpose`, and returns it with its derived ids. The error says which
// check failed ("identity key is invalid", "identity signature over its static key does not
// verify"); callers prefix who the peer is and map it to their own error code.
Result<PeerIdentity> verify_binding(BindingPurpose purpose, BytesView identity, const crypto::Ed25519Signature& signature,
                                    const crypto::X25519Key& static_public_key);

}  // namespace stargate::nats::sealed
