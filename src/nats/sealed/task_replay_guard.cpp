#include "nats/sealed/task_replay_guard.hpp"

#include <algorithm>
#include <string>

namespace stargate::nats::sealed {

namespace {

TaskError guard_fail(TaskErrc code, std::string what) { return TaskError{code, "task replay guard: " + std::move(what)}; }

UnixMillis guard_now(TimePoint now) { return std::chrono::floor<std::chrono::milliseconds>(now); }

}  // namespace

TaskReplayGuard::TaskReplayGuard(TaskReplayGuardConfig config) : config_(config) {
  config_.max_entries = std::max<std::size_t>(config_.max_entries, 1);
  config_.retain_after_expiry = std::max(config_.retain_after_expiry, std::chrono::milliseconds(0));
}

TaskReplayGuard::Key TaskReplayGuard::key_of(const crypto::Ed25519PublicKey& sender, TaskKind kind,
                                             const TaskId& task_id) {
  Key k{};
  const auto& raw = sender.bytes();
  std::copy(raw.begin(), raw.end(), k.begin());
  k[32] = static_cast<std::uint8_t>(kind);
  std::copy(task_id.bytes.begin(), task_id.bytes.end(), k.begin() + 33);
  return k;
}

TaskResult<void> TaskReplayGuard::admit(const OpenedTask& task, TimePoint now) {
  return admit(task.sender.public_key, task.kind, task.task_id, task.expiry, now);
}

TaskResult<void> TaskReplayGuard::admit(const crypto::Ed25519PublicKey& sender, TaskKind kind, const TaskId& task_id,
                                        UnixMillis expiry, TimePoint now) {
  prune(now);
  const UnixMillis now_ms = guard_now(now);
  const std::string what = std::string(to_string(kind)) + " " + task_id.hex();
  if (now_ms >= expiry) return guard_fail(TaskErrc::expired, what + " has expired");
  const Key key = key_of(sender, kind, task_id);
  if (entries_.contains(key)) return guard_fail(TaskErrc::replay, what + " was already admitted");
  if (entries_.size() >= config_.max_entries)
    return guard_fail(TaskErrc::guard_full, std::to_string(entries_.size()) +
                                                " unexpired tasks remembered, the limit: " + what +
                                                " refused rather than forget one of them");
  entries_.emplace(key, expiry);
  order_.emplace(expiry, key);
  return {};
}

std::size_t TaskReplayGuard::prune(TimePoint now) {
  const UnixMillis now_ms = guard_now(now);
  std::size_t dropped = 0;
  // Written as expiry < now - retain, never computing expiry + retain: an expiry may be far out.
  while (!order_.empty() && order_.begin()->first < now_ms - config_.retain_after_expiry) {
    entries_.erase(order_.begin()->second);
    order_.erase(order_.begin());
    ++dropped;
  }
  return dropped;
}

std::optional<UnixMillis> TaskReplayGuard::next_prune() const {
  if (order_.empty()) return std::nullopt;
  return order_.begin()->first + config_.retain_after_expiry + std::chrono::milliseconds(1);
}

bool TaskReplayGuard::contains(const crypto::Ed25519PublicKey& sender, TaskKind kind, const TaskId& task_id) const {
  return entries_.contains(key_of(sender, kind, task_id));
}

}  // namespace stargate::nats::sealed
