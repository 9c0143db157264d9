#pragma once
// The Kademlia routing table (sans-IO): 256 k-buckets of DHT server peers by the length of the
// prefix their key shares with ours, each with a replacement cache. A full bucket does not drop
// its old peers for a new one (old peers that are still up are the most likely to stay up); it
// asks the I/O layer to check the least recently seen one, and a peer that fails the check is
// replaced by the freshest peer in the cache. Bounded: buckets * (bucket_size + replacements).
#include "base/multiaddr.hpp"
#include "p2p/protocols/kad/kad_key.hpp"

#include <array>
#include <chrono>
#include <optional>
#include <vector>

namespace stargate::p2p::kad {

using SteadyTime = std::chrono::steady_clock::time_point;

struct RoutingEntry {
  crypto::PeerId peer;
  KadKey key;
  std::vector<Multiaddr> addrs;
  SteadyTime last_seen{};
};

struct RoutingTableConfig {
  std::size_t bucket_size = 20;        // k
  std::size_t replacement_cache = 20;  // per bucket
  std::size_t max_addrs_per_peer = 8;
  // A full bucket's oldest peer is checked only when it was last seen longer ago than this.
  std::chrono::seconds check_after{60};
};

class RoutingTable {
 public:
  RoutingTable(const crypto::PeerId& self, RoutingTableConfig config = {});

  enum class Outcome { inserted, updated, cached, self };
  struct AddResult {
    Outcome outcome;
    // The bucket is full: this peer (its least recently seen) should be checked for liveness;
    // report the answer with seen() or failed().
    std::optional<crypto::PeerId> check;
  };
  // A peer that speaks the DHT as a server was seen (it answered us, or identify says so).
  // Empty `addrs` keep the ones known.
  AddResult add(const crypto::PeerId& peer, std::vector<Multiaddr> addrs, SteadyTime now);
  // The peer answered (a liveness check or a request): it moves to its bucket's tail.
  void seen(const crypto::PeerId& peer, SteadyTime now);
  // The peer did not answer: removed, and the freshest peer of its replacement cache takes its place.
  void failed(const crypto::PeerId& peer);

  // Up to `count` peers, closest to `target` first.
  std::vector<RoutingEntry> closest(const KadKey& target, std::size_t count) const;
  const RoutingEntry* find(const crypto::PeerId& peer) const;
  std::size_t size() const { return size_; }
  std::size_t replacements() const;
  // Peers not seen for `older_than`: due for a liveness check.
  std::vector<crypto::PeerId> stale(SteadyTime now, std::chrono::seconds older_than) const;
  // Indices of non-empty buckets (the common prefix length with our key), for refresh.
  std::vector<std::size_t> occupied_buckets() const;
  const KadKey& self_key() const { return self_key_; }

 private:
  struct Bucket {
    // Vectors, not deques: at most 20 entries each, and libstdc++'s deque allocates ~1 KiB even
    // when empty, which 512 of them per table would waste.
    std::vector<RoutingEntry> entries;       // least recently seen first
    std::vector<RoutingEntry> replacements;  // oldest first
  };
  Bucket* bucket_for(const KadKey& key);

  crypto::PeerId self_;
  KadKey self_key_;
  RoutingTableConfig config_;
  std::array<Bucket, kKeyBits> buckets_;
  std::size_t size_ = 0;
};

}  // namespace stargate::p2p::kad
