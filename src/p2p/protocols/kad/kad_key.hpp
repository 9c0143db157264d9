#pragma once
// Positions in the Kademlia keyspace: the SHA-256 of a key's bytes (a PeerId's multihash, a
// provider key's multihash, a record key), compared by XOR distance (libp2p kad-dht spec).
#include "base/bytes.hpp"
#include "crypto/peer_id.hpp"

#include <array>
#include <compare>
#include <cstdint>

namespace stargate::p2p::kad {

inline constexpr std::size_t kKeyBits = 256;

struct KadKey {
  std::array<std::uint8_t, 32> bytes{};
  friend bool operator==(const KadKey&, const KadKey&) = default;
  friend auto operator<=>(const KadKey&, const KadKey&) = default;
};

// A distance is the XOR of two keys, ordered as a 256-bit big-endian number.
using Distance = KadKey;

KadKey key_of(BytesView raw_key);
KadKey key_of(const crypto::PeerId& peer);
Distance distance(const KadKey& a, const KadKey& b);
// Leading bits `a` and `b` share (256 when equal): the k-bucket `b` falls in, seen from `a`.
std::size_t common_prefix_length(const KadKey& a, const KadKey& b);

}  // namespace stargate::p2p::kad
