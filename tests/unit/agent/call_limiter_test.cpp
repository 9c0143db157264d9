#include "agent/call_limiter.hpp"

#include <gtest/gtest.h>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Verdict = CallAdmission::Verdict;

CallLimits small_limits() {
  CallLimits limits;
  limits.per_peer = RateLimit{10, 2};
  limits.per_ip = RateLimit{10, 3};
  limits.offenders.strikes = 3;
  limits.offenders.window = 1s;
  limits.offenders.backoff = 5s;
  return limits;
}

TEST(CallLimiter, APeerOverItsBurstIsRefusedWithAHint) {
  CallLimiter limiter(small_limits());
  const auto t0 = Clock::time_point{} + 1h;
  EXPECT_TRUE(limiter.admit("a", std::nullopt, t0).allowed());
  EXPECT_TRUE(limiter.admit("a", std::nullopt, t0).allowed());
  auto refused = limiter.admit("a", std::nullopt, t0);
  EXPECT_EQ(refused.verdict, Verdict::peer_limited);
  EXPECT_EQ(refused.retry_after, 100ms);
  EXPECT_FALSE(refused.disconnect);
  EXPECT_TRUE(limiter.admit("b", std::nullopt, t0).allowed());
  EXPECT_TRUE(limiter.admit("a", std::nullopt, t0 + 100ms).allowed());
}

TEST(CallLimiter, PeersSharingAnIpShareItsBucket) {
  CallLimiter limiter(small_limits());
  const auto t0 = Clock::time_point{} + 1h;
  const std::optional<std::string> ip = "192.0.2.7";
  EXPECT_TRUE(limiter.admit("a", ip, t0).allowed());
  EXPECT_TRUE(limiter.admit("b", ip, t0).allowed());
  EXPECT_TRUE(limiter.admit("c", ip, t0).allowed());
  auto refused = limiter.admit("d", ip, t0);
  EXPECT_EQ(refused.verdict, Verdict::ip_limited);
  EXPECT_GT(refused.retry_after.count(), 0);
  // Another IP, and the same peer over NATS (no IP), are not held back by it.
  EXPECT_TRUE(limiter.admit("d", std::string("198.51.100.1"), t0).allowed());
  EXPECT_TRUE(limiter.admit("d", std::nullopt, t0).allowed());
  // IP refusals are not the caller's own doing: no back-off however many.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.admit("e", ip, t0).disconnect);
}

TEST(CallLimiter, ACallerRefusedTooOftenIsDisconnectedOnceAndBackedOff) {
  CallLimiter limiter(small_limits());
  const auto t0 = Clock::time_point{} + 1h;
  ASSERT_TRUE(limiter.admit("a", std::nullopt, t0).allowed());
  ASSERT_TRUE(limiter.admit("a", std::nullopt, t0).allowed());
  EXPECT_FALSE(limiter.admit("a", std::nullopt, t0).disconnect);
  EXPECT_FALSE(limiter.admit("a", std::nullopt, t0).disconnect);
  auto third = limiter.admit("a", std::nullopt, t0);
  EXPECT_TRUE(third.disconnect);
  EXPECT_EQ(third.retry_after, 5s);
  // Back-off: refused even with tokens back, and the hint is the back-off's end.
  auto during = limiter.admit("a", std::nullopt, t0 + 2s);
  EXPECT_EQ(during.verdict, Verdict::backed_off);
  EXPECT_EQ(during.retry_after, 3s);
  EXPECT_FALSE(during.disconnect);
  EXPECT_TRUE(limiter.offenders().backed_off("a", t0 + 4999ms));
  EXPECT_TRUE(limiter.admit("a", std::nullopt, t0 + 5s).allowed());
  EXPECT_TRUE(limiter.admit("b", std::nullopt, t0 + 2s).allowed());
}

TEST(IpOfMultiaddr, TakesTheIpOfDirectAddressesOnly) {
  EXPECT_EQ(ip_of_multiaddr("/ip4/192.0.2.1/tcp/4001"), "192.0.2.1");
  EXPECT_EQ(ip_of_multiaddr("/ip6/::1/tcp/4001"), "::1");
  EXPECT_EQ(ip_of_multiaddr("/dns4/example.com/tcp/1"), std::nullopt);
  EXPECT_EQ(ip_of_multiaddr("/p2p-circuit"), std::nullopt);
  EXPECT_EQ(ip_of_multiaddr("/ip4/"), std::nullopt);
}

}  // namespace
}  // namespace stargate::agent
