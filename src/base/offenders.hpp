#pragma once
// Who keeps misbehaving (docs/limits.md, "Disconnect and back-off"), sans-IO: time is passed in.
// A key (a PeerId) earns a strike for each refusal (a rate-limited call, a dropped
// announcement, a DHT request over its rate or an invalid DHT record); `strikes` of them within
// `window` put it in back-off for `backoff`: the agent (or the DHT) closes its connections and
// refuses new ones (and its announcements) until then. Shared by the agent and the p2p layer,
// hence in base. Bounded to `max_keys` keys; when full, the oldest entry is forgotten.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate {

class OffenderTracker {
 public:
  using Clock = std::chrono::steady_clock;
  struct Config {
    std::size_t strikes = 100;
    std::chrono::milliseconds window{10'000};
    std::chrono::milliseconds backoff{60'000};
    std::size_t max_keys = 10'000;
  };

  explicit OffenderTracker(Config config) : config_(config) {}

  // Counts a strike; true exactly when this strike puts `key` in back-off (act on it once).
  bool strike(const std::string& key, Clock::time_point now);
  // Whether `key` is in back-off at `now`, and until when.
  std::optional<Clock::time_point> backed_off_until(const std::string& key, Clock::time_point now) const;
  bool backed_off(const std::string& key, Clock::time_point now) const { return backed_off_until(key, now).has_value(); }

  std::size_t size() const { return entries_.size(); }
  const Config& config() const { return config_; }

 private:
  struct Entry {
    Clock::time_point window_start{};
    std::size_t strikes = 0;
    Clock::time_point until{};  // in back-off while now < until
    Clock::time_point touched{};
  };
  void make_room(Clock::time_point now);

  Config config_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace stargate
