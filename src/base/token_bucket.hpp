#pragma once
// Token buckets and a bounded keyed rate limiter (docs/limits.md, "Rate limits"), sans-IO: the
// caller passes `now`, so tests run on a virtual clock and nothing here reads the OS clock.
//
// A bucket holds up to `burst` tokens and gains `per_second` tokens a second; an event takes one.
// An event that finds too few tokens is refused with the time until enough will be there, which
// callers pass on as a retry-after hint. The same limiter serves A2A calls (per peer, per IP),
// announcements (per agent) and, later, DHT requests.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace stargate {

struct RateLimit {
  double per_second = 1;  // refill rate, > 0
  double burst = 1;       // bucket size, >= 1 (one event must always fit)
};

// Allowed, or refused with how long to wait before one event would be allowed.
struct RateDecision {
  bool allowed = true;
  std::chrono::milliseconds retry_after{0};  // > 0 when refused
  explicit operator bool() const { return allowed; }
};

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // Starts full: a newcomer gets its whole burst.
  TokenBucket(RateLimit limit, Clock::time_point now);

  // Takes `cost` tokens when there are that many; otherwise takes nothing and says when to retry
  // (rounded up to a whole millisecond, so a retry at the hint is allowed).
  RateDecision take(Clock::time_point now, double cost = 1);
  // Tokens there would be at `now` (for tests and for idle eviction).
  double tokens(Clock::time_point now) const;
  // True when the bucket is full at `now`: forgetting it changes nothing.
  bool full(Clock::time_point now) const { return tokens(now) >= limit_.burst; }

 private:
  void refill(Clock::time_point now);
  RateLimit limit_;
  double tokens_;
  Clock::time_point last_;
};

// One token bucket per key, for at most `max_keys` keys. Memory stays bounded under a flood of
// new keys: the least recently used key is forgotten to make room (its next event starts with a
// full bucket, as a newcomer's does). Buckets that have refilled are forgotten first, since
// forgetting them loses nothing.
template <class Key, class Hash = std::hash<Key>>
class RateLimiter {
 public:
  using Clock = TokenBucket::Clock;

  explicit RateLimiter(RateLimit limit, std::size_t max_keys = 10'000)
      : limit_(limit), max_keys_(max_keys == 0 ? 1 : max_keys) {}

  RateDecision check(const Key& key, Clock::time_point now, double cost = 1) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
    } else {
      make_room(now);
      lru_.emplace_front(key, TokenBucket(limit_, now));
      index_.emplace(key, lru_.begin());
    }
    return lru_.front().second.take(now, cost);
  }

  std::size_t size() const { return index_.size(); }
  std::size_t max_keys() const { return max_keys_; }
  const RateLimit& limit() const { return limit_; }
  bool tracks(const Key& key) const { return index_.contains(key); }

 private:
  void make_room(Clock::time_point now) {
    // Idle keys at the cold end cost nothing to forget; then, if still full, the coldest one.
    while (!lru_.empty() && lru_.back().second.full(now)) drop_back();
    if (index_.size() >= max_keys_) drop_back();
  }
  void drop_back() {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }

  RateLimit limit_;
  std::size_t max_keys_;
  std::list<std::pair<Key, TokenBucket>> lru_;
  std::unordered_map<Key, typename std::list<std::pair<Key, TokenBucket>>::iterator, Hash> index_;
};

}  // namespace stargate
