#include "base/token_bucket.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stargate {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

TEST(TokenBucket, StartsFullAndAllowsTheWholeBurstThenRefuses) {
  const auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(RateLimit{10, 5}, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.take(t0)) << i;
  auto refused = bucket.take(t0);
  EXPECT_FALSE(refused);
  // One token comes back every 100 ms at 10 a second.
  EXPECT_EQ(refused.retry_after, 100ms);
}

TEST(TokenBucket, RefillsAtItsRateAndNeverAboveTheBurst) {
  const auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(RateLimit{10, 5}, t0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bucket.take(t0));
  EXPECT_NEAR(bucket.tokens(t0 + 250ms), 2.5, 1e-9);
  EXPECT_NEAR(bucket.tokens(t0 + 1h), 5.0, 1e-9);
  EXPECT_TRUE(bucket.full(t0 + 500ms));
  EXPECT_FALSE(bucket.full(t0 + 499ms));
}

TEST(TokenBucket, ARetryAtTheHintIsAllowedAndOneJustBeforeIsNot) {
  const auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(RateLimit{3, 1}, t0);  // a token every 333.3 ms
  ASSERT_TRUE(bucket.take(t0));
  auto refused = bucket.take(t0 + 100ms);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.retry_after, 234ms);  // 233.3 rounded up
  EXPECT_FALSE(bucket.take(t0 + 100ms + refused.retry_after - 2ms));
  EXPECT_TRUE(bucket.take(t0 + 100ms + refused.retry_after));
}

TEST(TokenBucket, ASlowRateGivesALongHint) {
  const auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(RateLimit{0.5, 1}, t0);
  ASSERT_TRUE(bucket.take(t0));
  EXPECT_EQ(bucket.take(t0).retry_after, 2000ms);
}

TEST(TokenBucket, AClockThatGoesBackAddsNothing) {
  const auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(RateLimit{10, 1}, t0);
  ASSERT_TRUE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0 - 10s));
  EXPECT_FALSE(bucket.take(t0 + 50ms));
}

TEST(RateLimiter, KeysAreIsolated) {
  const auto t0 = Clock::time_point{} + 1h;
  RateLimiter<std::string> limiter(RateLimit{1, 2});
  EXPECT_TRUE(limiter.check("flooder", t0));
  EXPECT_TRUE(limiter.check("flooder", t0));
  EXPECT_FALSE(limiter.check("flooder", t0));
  EXPECT_TRUE(limiter.check("polite", t0));
  EXPECT_TRUE(limiter.check("polite", t0));
  EXPECT_FALSE(limiter.check("flooder", t0 + 999ms));
  EXPECT_TRUE(limiter.check("flooder", t0 + 1s));
}

TEST(RateLimiter, ManyKeysStayWithinTheBoundAndTheColdestGoesFirst) {
  const auto t0 = Clock::time_point{} + 1h;
  RateLimiter<int> limiter(RateLimit{1, 1}, 100);
  ASSERT_TRUE(limiter.check(-1, t0));  // an empty bucket that stays hot
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_TRUE(limiter.check(i, t0)) << i;  // every newcomer gets its burst
    if (i % 10 == 0) {
      EXPECT_FALSE(limiter.check(-1, t0));  // keeps -1 recently used
    }
    ASSERT_LE(limiter.size(), 100u);
  }
  EXPECT_EQ(limiter.size(), 100u);
  EXPECT_TRUE(limiter.tracks(-1));
  EXPECT_FALSE(limiter.tracks(0));
  EXPECT_FALSE(limiter.check(-1, t0));  // still empty: never forgotten, never refilled
}

TEST(RateLimiter, RefilledBucketsAreForgottenBeforeAnyOther) {
  const auto t0 = Clock::time_point{} + 1h;
  RateLimiter<int> limiter(RateLimit{1, 1}, 3);
  ASSERT_TRUE(limiter.check(1, t0));
  ASSERT_TRUE(limiter.check(2, t0 + 900ms));
  ASSERT_TRUE(limiter.check(3, t0 + 900ms));
  // At t0 + 1 s, key 1 has refilled: it is the one that goes, and then only it.
  ASSERT_TRUE(limiter.check(4, t0 + 1s));
  EXPECT_FALSE(limiter.tracks(1));
  EXPECT_TRUE(limiter.tracks(2));
  EXPECT_TRUE(limiter.tracks(3));
  EXPECT_FALSE(limiter.check(2, t0 + 1s));
}

}  // namespace
}  // namespace stargate
