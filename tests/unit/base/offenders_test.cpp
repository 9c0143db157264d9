// The sans-IO offender tracker behind back-off (docs/limits.md, "Disconnect and back-off").
#include "base/offenders.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stargate {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(OffenderTracker, StrikesWithinTheWindowStartOneBackOff) {
  OffenderTracker tracker({3, 1s, 5s, 100});
  const auto t0 = Clock::time_point{} + 1h;
  EXPECT_FALSE(tracker.strike("bad", t0));
  EXPECT_FALSE(tracker.strike("bad", t0 + 100ms));
  EXPECT_TRUE(tracker.strike("bad", t0 + 200ms));  // the third: act on it, once
  EXPECT_FALSE(tracker.strike("bad", t0 + 300ms));  // already backed off
  EXPECT_EQ(tracker.backed_off_until("bad", t0 + 1s), t0 + 200ms + 5s);
  EXPECT_FALSE(tracker.backed_off("other", t0 + 1s));
  EXPECT_FALSE(tracker.backed_off("bad", t0 + 200ms + 5s));
}

TEST(OffenderTracker, StrikesOutsideTheWindowDoNotAddUp) {
  OffenderTracker tracker({3, 1s, 5s, 100});
  const auto t0 = Clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(tracker.strike("slow", t0 + i * 600ms));  // two per window at most
  }
  EXPECT_FALSE(tracker.backed_off("slow", t0 + 6s));
}

TEST(OffenderTracker, StaysWithinItsBound) {
  OffenderTracker tracker({3, 1s, 5s, 50});
  const auto t0 = Clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) tracker.strike("bad", t0);
  ASSERT_TRUE(tracker.backed_off("bad", t0));
  for (int i = 0; i < 1000; ++i) {
    tracker.strike("k" + std::to_string(i), t0 + std::chrono::milliseconds(i));
    ASSERT_LE(tracker.size(), 50u);
  }
  // The one in back-off is the last to go: it is still remembered.
  EXPECT_TRUE(tracker.backed_off("bad", t0 + 1s));
}

}  // namespace
}  // namespace stargate
