#pragma once
// Message IDs seen recently, so a message that comes back over another path is recognised as a
// duplicate. Entries expire after a TTL (spec default 2 min) and the cache holds at most
// `max_entries` (the oldest go first), so a flood cannot grow it without bound.
#include "p2p/protocols/gossipsub/message_id.hpp"
#include "p2p/protocols/gossipsub/time.hpp"

#include <deque>
#include <unordered_map>

namespace stargate::p2p::gossipsub {

class SeenCache {
 public:
  SeenCache(Duration ttl, std::size_t max_entries) : ttl_(ttl), max_entries_(max_entries) {}

  // Records `id` and returns true when it was new.
  bool insert(const MessageId& id, TimePoint now);
  bool contains(const MessageId& id) const { return first_seen_.count(id) != 0; }
  // When `id` was first seen, if it still is remembered.
  const TimePoint* first_seen(const MessageId& id) const;
  void expire(TimePoint now);
  std::size_t size() const { return first_seen_.size(); }

 private:
  Duration ttl_;
  std::size_t max_entries_;
  std::unordered_map<MessageId, TimePoint> first_seen_;
  std::deque<MessageId> order_;  // oldest first
};

}  // namespace stargate::p2p::gossipsub
