#include "p2p/pool/connection_pool.hpp"

#include <algorithm>

namespace stargate::p2p::pool {

const char* to_string(EvictionReason reason) {
  switch (reason) {
    case EvictionReason::idle: return "idle";
    case EvictionReason::capacity: return "capacity";
  }
  return "unknown";
}

void ConnectionPool::add(ConnectionId id, const crypto::PeerId& peer, bool relayed, TimePoint now) {
  entries_.try_emplace(id, Entry{peer, relayed, now, now, 0});
}

void ConnectionPool::remove(ConnectionId id) { entries_.erase(id); }

void ConnectionPool::set_streams(ConnectionId id, std::size_t streams, TimePoint now) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  // Opening a stream is a use; so is the moment the last one closes (idle time starts there).
  if (streams != it->second.streams) it->second.last_used = std::max(it->second.last_used, now);
  it->second.streams = streams;
}

void ConnectionPool::hit(ConnectionId id, TimePoint now) {
  ++stats_.hits;
  if (auto it = entries_.find(id); it != entries_.end()) it->second.last_used = std::max(it->second.last_used, now);
}

void ConnectionPool::protect(const crypto::PeerId& peer, const std::string& tag) { protected_[peer].insert(tag); }

bool ConnectionPool::unprotect(const crypto::PeerId& peer, const std::string& tag) {
  auto it = protected_.find(peer);
  if (it == protected_.end()) return false;
  it->second.erase(tag);
  if (!it->second.empty()) return true;
  protected_.erase(it);
  return false;
}

void ConnectionPool::evict(std::map<ConnectionId, Entry>::iterator it, EvictionReason reason,
                           std::vector<Eviction>& out) {
  out.push_back(Eviction{it->first, it->second.peer, reason});
  ++(reason == EvictionReason::idle ? stats_.evictions_idle : stats_.evictions_capacity);
  entries_.erase(it);
}

std::vector<Eviction> ConnectionPool::poll(TimePoint now) {
  std::vector<Eviction> out;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (evictable(it->second) && now - it->second.last_used >= config_.idle_timeout)
      evict(it, EvictionReason::idle, out);
    it = next;
  }
  while (entries_.size() > config_.max_connections) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (!evictable(it->second) || now - it->second.opened < config_.grace_period) continue;
      if (victim == entries_.end() || it->second.last_used < victim->second.last_used) victim = it;
    }
    if (victim == entries_.end()) break;
    evict(victim, EvictionReason::capacity, out);
  }
  const bool over = entries_.size() > config_.max_connections;
  if (over && !over_cap_) ++stats_.cap_overruns;
  over_cap_ = over;
  return out;
}

std::optional<TimePoint> ConnectionPool::next_deadline() const {
  std::optional<TimePoint> deadline;
  auto consider = [&deadline](TimePoint t) {
    if (!deadline || t < *deadline) deadline = t;
  };
  const bool over = entries_.size() > config_.max_connections;
  for (const auto& [id, entry] : entries_) {
    if (!evictable(entry)) continue;
    consider(entry.last_used + config_.idle_timeout);
    if (over) consider(entry.opened + config_.grace_period);
  }
  return deadline;
}

PoolStats ConnectionPool::stats() const {
  PoolStats out = stats_;
  out.size = entries_.size();
  for (const auto& [id, entry] : entries_) {
    if (entry.relayed) ++out.relayed;
    if (entry.streams > 0) ++out.busy;
  }
  return out;
}

}  // namespace stargate::p2p::pool
