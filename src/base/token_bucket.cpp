#include "base/token_bucket.hpp"

#include <algorithm>

namespace stargate {

TokenBucket::TokenBucket(RateLimit limit, Clock::time_point now) : limit_(limit), tokens_(limit.burst), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;  // a clock that did not move (or callers out of order) adds nothing
  const std::chrono::duration<double> elapsed = now - last_;
  tokens_ = std::min(limit_.burst, tokens_ + elapsed.count() * limit_.per_second);
  last_ = now;
}

double TokenBucket::tokens(Clock::time_point now) const {
  TokenBucket copy = *this;
  copy.refill(now);
  return copy.tokens_;
}

RateDecision TokenBucket::take(Clock::time_point now, double cost) {
  refill(now);
  if (tokens_ >= cost) {
    tokens_ -= cost;
    return {};
  }
  const double wait_ms = (cost - tokens_) / limit_.per_second * 1000.0;
  const auto retry = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_ms)));
  return RateDecision{false, std::chrono::milliseconds(retry)};
}

}  // namespace stargate
