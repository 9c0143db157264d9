// The wait between announcements: never longer than the interval (announce_ttl only has to
// outlast it), at most 10% shorter, and not the same for every agent.
#include "agent/announce_jitter.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;

TEST(AnnounceJitter, WaitsBetweenNinetyAndOneHundredPercentOfTheInterval) {
  std::mt19937_64 random(7);
  std::set<std::chrono::milliseconds::rep> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto wait = next_announce_wait(30s, random);
    EXPECT_LE(wait, 30s);
    EXPECT_GE(wait, 27s);
    seen.insert(wait.count());
  }
  // Spread over the range, not one value: two agents seeded differently drift apart.
  EXPECT_GT(seen.size(), 500u);
  EXPECT_LT(*seen.begin(), 27'300);
  EXPECT_GT(*seen.rbegin(), 29'700);
}

TEST(AnnounceJitter, ShortIntervalsStayPositive) {
  std::mt19937_64 random(1);
  for (int i = 0; i < 100; ++i) {
    EXPECT_GE(next_announce_wait(1s, random), 900ms);
    EXPECT_EQ(next_announce_wait(5ms, random), 5ms);  // a tenth of 5 ms rounds down to no slack
  }
}

}  // namespace
}  // namespace stargate::agent
