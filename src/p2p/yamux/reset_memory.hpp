#pragma once
// The IDs of streams we reset (or refused) most recently. Frames the peer sent before it saw our
// RST are still on the wire; for these IDs they are dropped silently (as go-yamux does) instead of
// being treated as frames for a closed stream. Bounded: the oldest ID is forgotten first.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace stargate::p2p::yamux {

class ResetMemory {
 public:
  explicit ResetMemory(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  void add(std::uint32_t id) {
    if (!ids_.insert(id).second) return;
    order_.push_back(id);
    if (order_.size() > capacity_) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
  }
  bool contains(std::uint32_t id) const { return ids_.count(id) != 0; }
  void clear() {
    ids_.clear();
    order_.clear();
  }

 private:
  std::size_t capacity_;
  std::unordered_set<std::uint32_t> ids_;
  std::deque<std::uint32_t> order_;
};

}  // namespace stargate::p2p::yamux
