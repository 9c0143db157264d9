#include "nats/sealed/identity_binding.hpp"

#include "crypto/peer_id.hpp"
#include "nats/sealed/wire.hpp"

namespace stargate::nats::sealed {

PeerIdentity make_peer_identity(const crypto::Ed25519PublicKey& key) {
  return PeerIdentity{key, crypto::agent_id(key), crypto::PeerId::from_public_key(key).to_string()};
}

Bytes binding_message(BindingPurpose purpose, const crypto::X25519Key& static_public_key) {
  if (purpose == BindingPurpose::session) return static_key_signature_message(static_public_key);
  Bytes m = to_bytes(task_static_key_signature_prefix);
  m.insert(m.end(), static_public_key.begin(), static_public_key.end());
  return m;
}

crypto::Ed25519Signature sign_binding(BindingPurpose purpose, const crypto::Ed25519PrivateKey& identity,
                                      const crypto::X25519Key& static_public_key) {
  return identity.sign(binding_message(purpose, static_public_key));
}

Result<PeerIdentity> verify_binding(BindingPurpose purpose, BytesView identity, const crypto::Ed25519Signature& signature,
                                    const crypto::X25519Key& static_public_key) {
  auto key = crypto::Ed25519PublicKey::from_bytes(identity);
  if (!key) return make_error("identity key is invalid");
  if (!key->verify(binding_message(purpose, static_public_key), signature))
    return make_error("identity signature over its static key does not verify");
  return make_peer_identity(*key);
}

}  // namespace stargate::nats::sealed
