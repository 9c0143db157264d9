#pragma once
// Provider records a DHT server keeps for others (sans-IO): "peer P can provide key K", each
// with an expiry (48 h, as the spec recommends; providers republish every 22 h). Bounded: at
// most `max_keys` keys and `max_providers_per_key` providers per key, the record expiring first
// making room; `max_addrs_per_provider` addresses each.
#include "base/multiaddr.hpp"
#include "crypto/peer_id.hpp"

#include <chrono>
#include <map>
#include <vector>

namespace stargate::p2p::kad {

struct ProviderStoreConfig {
  std::size_t max_keys = 10000;
  std::size_t max_providers_per_key = 100;
  std::size_t max_addrs_per_provider = 8;
  std::chrono::seconds ttl{48 * 3600};
};

struct ProviderRecord {
  crypto::PeerId provider;
  std::vector<Multiaddr> addrs;
  std::chrono::steady_clock::time_point expires{};
};

class ProviderStore {
 public:
  using Time = std::chrono::steady_clock::time_point;
  explicit ProviderStore(ProviderStoreConfig config = {}) : config_(config) {}

  // Adds or refreshes `provider` under `key`; false when the store is full of keys that expire later.
  bool add(const Bytes& key, const crypto::PeerId& provider, std::vector<Multiaddr> addrs, Time now);
  // The unexpired providers of `key`, most recently refreshed first, at most `limit`.
  std::vector<ProviderRecord> providers(const Bytes& key, Time now, std::size_t limit) const;
  void expire(Time now);
  std::size_t keys() const { return records_.size(); }
  std::size_t records() const;

 private:
  ProviderStoreConfig config_;
  std::map<Bytes, std::vector<ProviderRecord>> records_;
};

}  // namespace stargate::p2p::kad
