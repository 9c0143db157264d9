#include "p2p/protocols/gossipsub/seen_cache.hpp"

namespace stargate::p2p::gossipsub {

bool SeenCache::insert(const MessageId& id, TimePoint now) {
  expire(now);
  if (!first_seen_.emplace(id, now).second) return false;
  order_.push_back(id);
  while (order_.size() > max_entries_) {
    first_seen_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

const TimePoint* SeenCache::first_seen(const MessageId& id) const {
  auto it = first_seen_.find(id);
  return it == first_seen_.end() ? nullptr : &it->second;
}

void SeenCache::expire(TimePoint now) {
  while (!order_.empty()) {
    auto it = first_seen_.find(order_.front());
    if (it != first_seen_.end() && now - it->second < ttl_) break;
    if (it != first_seen_.end()) first_seen_.erase(it);
    order_.pop_front();
  }
}

}  // namespace stargate::p2p::gossipsub
