#include "base/offenders.hpp"

#include <algorithm>

namespace stargate {

bool OffenderTracker::strike(const std::string& key, Clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    make_room(now);
    it = entries_.emplace(key, Entry{now, 0, {}, now}).first;
  }
  auto& e = it->second;
  e.touched = now;
  if (now < e.until) return false;  // already backed off: nothing new to do
  if (now - e.window_start >= config_.window) {
    e.window_start = now;
    e.strikes = 0;
  }
  if (++e.strikes < config_.strikes) return false;
  e.strikes = 0;
  e.window_start = now;
  e.until = now + config_.backoff;
  return true;
}

std::optional<OffenderTracker::Clock::time_point> OffenderTracker::backed_off_until(const std::string& key,
                                                                                     Clock::time_point now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || now >= it->second.until) return std::nullopt;
  return it->second.until;
}

void OffenderTracker::make_room(Clock::time_point now) {
  if (entries_.size() < std::max<std::size_t>(1, config_.max_keys)) return;
  // Forget whoever has neither a back-off running nor a strike within the window; if everyone
  // has, the least recently seen, those in back-off last (a flood of fresh keys must neither grow
  // memory nor free an offender early).
  std::erase_if(entries_, [&](const auto& kv) {
    return now >= kv.second.until && now - kv.second.touched >= config_.window;
  });
  if (entries_.size() < std::max<std::size_t>(1, config_.max_keys)) return;
  auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                 [now](const auto& x, const auto& y) {
                                   return std::pair(now < x.second.until, x.second.touched) <
                                          std::pair(now < y.second.until, y.second.touched);
                                 });
  entries_.erase(oldest);
}

}  // namespace stargate
