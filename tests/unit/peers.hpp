#pragma once
// Shared by the unit tests of p2p protocols: fresh PeerIds and multiaddrs from text.
#include "base/multiaddr.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"

#include <string_view>

namespace stargate::p2p::test {

inline crypto::PeerId some_peer() {
  return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
}

inline Multiaddr addr(std::string_view text) { return Multiaddr::parse(text).value(); }

}  // namespace stargate::p2p::test
