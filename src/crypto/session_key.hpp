#pragma once
// The X25519 static key an agent uses for sealed NATS sessions (Noise IK), derived from its
// Ed25519 identity seed with HKDF under a label of its own. Deriving instead of storing a second
// secret keeps it stable across restarts with nothing more to protect or back up, and the label
// keeps the two uses of the seed apart.
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"

namespace stargate::crypto {

X25519PrivateKey derive_session_static_key(const Ed25519PrivateKey& identity);

}  // namespace stargate::crypto
