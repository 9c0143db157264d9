#pragma once
// Refuses a task envelope seen before. An envelope is self-contained and may be published again by
// anyone who copied it off the broker, any number of times until it expires; open_task() accepts
// every copy. The guard remembers each admitted (sender identity, kind, task id) until the
// envelope's expiry (plus a grace for a clock stepping back), so a second copy is refused as a
// replay while it could still open, and after that open_task() refuses it as expired: a replay is
// never accepted as new. The kind is part of the key because a result and a cancel carry the id of
// the request they are about.
//
// Bounded: at most max_entries unexpired entries. When full it refuses new tasks (guard_full) rather
// than forget an unexpired one, which would let that one be replayed. The cost: whoever can send
// this agent tasks (anyone who can publish to its queue) can fill the guard with long-lived tasks
// and stop it taking new ones until they expire; TaskLimits::max_lifetime bounds that, and the
// broker's publish permissions decide who can. Sans-IO: `now` is passed in. In memory only: after a
// restart an unexpired envelope is accepted once more, unless the layer above persists what it admits.
//
//   auto in = open_task(wire, my_static, now);
//   if (!in) drop(in.error());
//   else if (auto ok = guard.admit(*in, now); !ok) drop(ok.error());   // replay, guard_full, expired
//   else run(*in);
//
// Not thread-safe: use it from one strand.
#include "crypto/ed25519.hpp"
#include "nats/sealed/task_envelope.hpp"
#include "nats/sealed/task_errors.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace stargate::nats::sealed {

struct TaskReplayGuardConfig {
  // Entries held at most: 224 bytes each on glibc (two tree nodes), 14 MiB at the default.
  std::size_t max_entries = 65536;
  // An entry is kept this long past its expiry, so that our clock stepping back by up to this much
  // cannot make an envelope open again after its entry was dropped.
  std::chrono::milliseconds retain_after_expiry = std::chrono::seconds(120);
};

class TaskReplayGuard {
 public:
  explicit TaskReplayGuard(TaskReplayGuardConfig config = {});

  // Admits an opened envelope once. Errors: replay (admitted before, not yet forgotten), guard_full
  // (max_entries remembered: refused, nothing forgotten), expired (now at or past its expiry). Drops
  // forgotten entries first.
  TaskResult<void> admit(const OpenedTask& task, TimePoint now);
  TaskResult<void> admit(const crypto::Ed25519PublicKey& sender, TaskKind kind, const TaskId& task_id, UnixMillis expiry,
                         TimePoint now);

  // Drops entries past expiry + retain_after_expiry; returns how many. admit() does it too.
  std::size_t prune(TimePoint now);
  // When the next entry may be dropped (nullopt when empty), for a timer that frees memory early.
  std::optional<UnixMillis> next_prune() const;

  bool contains(const crypto::Ed25519PublicKey& sender, TaskKind kind, const TaskId& task_id) const;
  std::size_t size() const { return entries_.size(); }
  const TaskReplayGuardConfig& config() const { return config_; }

 private:
  // sender Ed25519 key (32) | kind (1) | task id (16)
  using Key = std::array<std::uint8_t, 32 + 1 + 16>;
  static Key key_of(const crypto::Ed25519PublicKey& sender, TaskKind kind, const TaskId& task_id);

  TaskReplayGuardConfig config_;
  std::map<Key, UnixMillis> entries_;           // key -> expiry
  std::set<std::pair<UnixMillis, Key>> order_;  // the same, by expiry
};

}  // namespace stargate::nats::sealed
