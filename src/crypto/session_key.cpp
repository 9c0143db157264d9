#include "crypto/session_key.hpp"

#include "crypto/random.hpp"
#include "crypto/sha256.hpp"

namespace stargate::crypto {

X25519PrivateKey derive_session_static_key(const Ed25519PrivateKey& identity) {
  auto seed = identity.seed();
  std::array<std::uint8_t, 32> secret;
  hkdf_sha256(as_bytes("stargate-x25519-static-v1"), seed, as_bytes("nats sealed sessions"), secret);
  secure_wipe(seed);
  auto key = X25519PrivateKey::from_bytes(secret);
  secure_wipe(secret);
  return std::move(key).value();
}

}  // namespace stargate::crypto
