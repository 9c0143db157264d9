#pragma once
// Slots shared fairly among the sources (remote IPs) that take them: connections in their
// handshake (the host), connections to the metrics endpoint. Sans-IO bookkeeping, used where a
// slot is taken and given back (docs/limits.md, "Pending handshakes").
//
// An attacker's cheapest weapon is a socket that connects and says nothing: each holds a slot
// until a timeout. A total alone lets one source hold every slot. Here a source holds at most
// `max_per_source` (where that cap applies to it), and when every slot is taken a newcomer is not
// simply refused:
//   - if another source holds at least two more slots than the newcomer's, that source's oldest
//     slot (the one most likely stalled) goes to the newcomer;
//   - otherwise the newcomer replaces its own source's oldest slot: a source that keeps opening
//     sockets only ever pushes out its own.
// Slots taken under the empty source name are the node's own (outbound handshakes): counted in
// the total, never evicted, and they evict like a source holding nothing.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate {

class FairShare {
 public:
  struct Limits {
    std::size_t max_total = 64;
    std::size_t max_per_source = 16;
  };
  enum class Refusal { none, full, source_full };
  struct Admission {
    Refusal refusal = Refusal::none;
    std::uint64_t id = 0;                  // when admitted: give it to release()
    std::optional<std::uint64_t> evicted;  // the slot given to this one: abort its holder
    std::string evicted_source;
  };

  explicit FairShare(Limits limits) : limits_(limits) {}

  // `capped`: whether max_per_source applies to `source` (loopback may be exempt).
  Admission admit(const std::string& source, bool capped);
  // The slot is given back; an evicted one is gone already (then a no-op).
  void release(std::uint64_t id);

  std::size_t taken() const { return source_of_.size(); }
  std::size_t taken_by(const std::string& source) const;
  // The most any one source (not the node itself) holds.
  std::size_t busiest() const;
  // Half the slots or more are taken.
  bool under_pressure() const { return taken() * 2 >= limits_.max_total; }
  const Limits& limits() const { return limits_; }

 private:
  using Entry = std::pair<const std::string, std::deque<std::uint64_t>>;
  Entry* busiest_source();

  Limits limits_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::string> source_of_;
  // Each source's slots, oldest first (IDs increase).
  std::unordered_map<std::string, std::deque<std::uint64_t>> by_source_;
};

}  // namespace stargate
