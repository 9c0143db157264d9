#pragma once
// At most one log line per interval for a kind of event that an attacker can repeat at will
// (refused connections, streams, calls): the first is logged at once, later ones are counted and
// the count goes out with the next line. Sans-IO: time is passed in.
#include <chrono>
#include <cstdint>

namespace stargate {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // True when a line may be written now; `suppressed` is then how many were held back before it.
  bool allow(Clock::time_point now, std::uint64_t& suppressed) {
    if (logged_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    logged_ = true;
    last_ = now;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  Clock::duration interval_;
  Clock::time_point last_{};
  bool logged_ = false;
  std::uint64_t suppressed_ = 0;
};

}  // namespace stargate
