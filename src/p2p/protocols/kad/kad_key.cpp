#include "p2p/protocols/kad/kad_key.hpp"

#include "crypto/sha256.hpp"

#include <bit>

namespace stargate::p2p::kad {

KadKey key_of(BytesView raw_key) { return KadKey{crypto::sha256(raw_key)}; }

KadKey key_of(const crypto::PeerId& peer) { return key_of(BytesView(peer.bytes())); }

Distance distance(const KadKey& a, const KadKey& b) {
  Distance d;
  for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = a.bytes[i] ^ b.bytes[i];
  return d;
}

std::size_t common_prefix_length(const KadKey& a, const KadKey& b) {
  for (std::size_t i = 0; i < a.bytes.size(); ++i) {
    const auto x = static_cast<std::uint8_t>(a.bytes[i] ^ b.bytes[i]);
    if (x != 0) return i * 8 + static_cast<std::size_t>(std::countl_zero(x));
  }
  return kKeyBits;
}

}  // namespace stargate::p2p::kad
