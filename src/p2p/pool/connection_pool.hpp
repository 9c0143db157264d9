#pragma once
// The connection pool's policy, sans-IO: which open connections to keep and which to close.
// Tracks every connection by id (peer, relayed or not, last use, streams open) and decides
// evictions: idle longer than `idle_timeout`, or the least recently used idle one while there are
// more than `max_connections`. A connection with streams open, or to a protected peer, is never
// evicted: when nothing can go, the pool stays above its cap and counts the overrun. Time comes
// in as an argument; the I/O layer (p2p/host/connection_pool_io.hpp) runs a timer to
// next_deadline(), calls poll() and closes what it returns.
#include "crypto/peer_id.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stargate::p2p::pool {

using TimePoint = std::chrono::steady_clock::time_point;
using ConnectionId = std::uint64_t;

struct PoolConfig {
  std::size_t max_connections = 100;
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  // A new connection is not evicted for capacity until it is this old: the dialer opens its first
  // stream right after connecting, and must not find its connection closed under it.
  std::chrono::milliseconds grace_period = std::chrono::seconds(10);
};

enum class EvictionReason { idle, capacity };
const char* to_string(EvictionReason reason);

struct Eviction {
  ConnectionId id = 0;
  crypto::PeerId peer;
  EvictionReason reason = EvictionReason::idle;
};

struct PoolStats {
  std::size_t size = 0;     // connections open (direct and relayed)
  std::size_t relayed = 0;  // of which relayed
  std::size_t busy = 0;     // with streams open
  std::uint64_t hits = 0;   // connects that reused an open connection
  std::uint64_t misses = 0; // connects that had to dial
  std::uint64_t evictions_idle = 0;
  std::uint64_t evictions_capacity = 0;
  // Times the pool stayed above its cap because every connection was busy, protected or new
  // (counted once per stretch above the cap).
  std::uint64_t cap_overruns = 0;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolConfig config = {}) : config_(config) {}
  const PoolConfig& config() const { return config_; }

  // A new connection, idle since `now`. An id already tracked is left as it is.
  void add(ConnectionId id, const crypto::PeerId& peer, bool relayed, TimePoint now);
  // Closed (by either side, or after an eviction): forgotten. Unknown ids are ignored.
  void remove(ConnectionId id);
  // The number of streams open on `id` changed. A connection with streams is busy; its idle time
  // starts when its last stream closes, and opening one counts as a use.
  void set_streams(ConnectionId id, std::size_t streams, TimePoint now);
  // A connect reused `id` (a hit, which is also a use) or had to dial (a miss).
  void hit(ConnectionId id, TimePoint now);
  void miss() { ++stats_.misses; }

  // Pins every connection to `peer` for as long as any tag is set (as go-libp2p's connection
  // manager does): a relay holding our reservation, for instance.
  void protect(const crypto::PeerId& peer, const std::string& tag);
  // Returns whether `peer` is still protected under another tag.
  bool unprotect(const crypto::PeerId& peer, const std::string& tag);
  bool is_protected(const crypto::PeerId& peer) const { return protected_.contains(peer); }

  // The evictions due at `now`: idle ones first, then the least recently used idle ones while
  // above the cap. Each is forgotten and counted here; the caller closes the connections.
  std::vector<Eviction> poll(TimePoint now);
  // When poll() next has something to do (possibly in the past), or none while nothing can be
  // evicted until a stream closes or a connection is added.
  std::optional<TimePoint> next_deadline() const;

  PoolStats stats() const;
  bool contains(ConnectionId id) const { return entries_.contains(id); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    crypto::PeerId peer;
    bool relayed = false;
    TimePoint opened;
    TimePoint last_used;
    std::size_t streams = 0;
  };
  bool evictable(const Entry& entry) const { return entry.streams == 0 && !is_protected(entry.peer); }
  void evict(std::map<ConnectionId, Entry>::iterator it, EvictionReason reason, std::vector<Eviction>& out);

  PoolConfig config_;
  std::map<ConnectionId, Entry> entries_;
  std::map<crypto::PeerId, std::set<std::string>> protected_;
  PoolStats stats_;
  bool over_cap_ = false;
};

}  // namespace stargate::p2p::pool
