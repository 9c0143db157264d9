// Slots shared fairly among sources (base/fair_share.hpp): the bookkeeping behind pending
// handshakes and metrics-endpoint connections (docs/limits.md, "Pending handshakes").
#include "base/fair_share.hpp"

#include "base/log_throttle.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stargate {
namespace {

using Refusal = FairShare::Refusal;

std::vector<std::uint64_t> fill(FairShare& share, const std::string& source, std::size_t n) {
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < n; ++i) {
    auto admission = share.admit(source, true);
    EXPECT_EQ(admission.refusal, Refusal::none);
    EXPECT_FALSE(admission.evicted);
    ids.push_back(admission.id);
  }
  return ids;
}

TEST(FairShare, ASourceIsCappedWhereTheCapApplies) {
  FairShare share({8, 3});
  fill(share, "192.0.2.1", 3);
  EXPECT_EQ(share.admit("192.0.2.1", true).refusal, Refusal::source_full);
  // Exempt (loopback): the cap does not apply, only the total.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(share.admit("127.0.0.1", false).refusal, Refusal::none);
  EXPECT_EQ(share.taken(), 8u);
  EXPECT_EQ(share.taken_by("192.0.2.1"), 3u);
  EXPECT_EQ(share.busiest(), 5u);
}

TEST(FairShare, WhenFullANewcomerTakesTheOldestSlotOfTheBusiestSource) {
  FairShare share({4, 4});
  auto attacker = fill(share, "198.51.100.7", 4);
  auto admission = share.admit("203.0.113.9", true);
  ASSERT_EQ(admission.refusal, Refusal::none);
  ASSERT_TRUE(admission.evicted);
  EXPECT_EQ(*admission.evicted, attacker.front());  // the oldest: the one most likely stalled
  EXPECT_EQ(admission.evicted_source, "198.51.100.7");
  EXPECT_EQ(share.taken(), 4u);
  EXPECT_EQ(share.taken_by("198.51.100.7"), 3u);
  // The evicted slot is gone: giving it back later changes nothing.
  share.release(attacker.front());
  EXPECT_EQ(share.taken(), 4u);
  // The attacker's next socket only replaces its own oldest: the newcomer keeps its slot.
  auto again = share.admit("198.51.100.7", true);
  ASSERT_TRUE(again.evicted);
  EXPECT_EQ(*again.evicted, attacker[1]);
  EXPECT_EQ(share.taken_by("203.0.113.9"), 1u);
  EXPECT_EQ(share.taken_by("198.51.100.7"), 3u);
}

TEST(FairShare, TwoSourcesNearlyEvenDoNotTradeSlots) {
  FairShare share({4, 4});
  fill(share, "a", 2);
  auto b = fill(share, "b", 2);
  // "a" holds 2 and "b" 2: a third from "a" would take from "b" only to be taken back; it
  // replaces its own oldest instead.
  auto admission = share.admit("a", true);
  ASSERT_TRUE(admission.evicted);
  EXPECT_EQ(admission.evicted_source, "a");
  EXPECT_EQ(share.taken_by("b"), 2u);
}

TEST(FairShare, TheNodesOwnSlotsAreNeverEvictedAndEvictLikeAnEmptySource) {
  FairShare share({3, 3});
  auto own = share.admit("", true);  // an outbound handshake
  ASSERT_EQ(own.refusal, Refusal::none);
  fill(share, "a", 2);
  // Full: our own next one takes from "a" (2 >= 0 + 2).
  auto second_own = share.admit("", true);
  ASSERT_TRUE(second_own.evicted);
  EXPECT_EQ(second_own.evicted_source, "a");
  // "a" now holds 1: our third is refused rather than trading with it, and "a" replaces its own.
  EXPECT_EQ(share.admit("", true).refusal, Refusal::full);
  auto from_a = share.admit("a", true);
  ASSERT_TRUE(from_a.evicted);
  EXPECT_EQ(from_a.evicted_source, "a");
  EXPECT_EQ(share.taken_by(""), 2u);
  // A newcomer from a new source when only our own slots and one of "a" are left: refused.
  EXPECT_EQ(share.admit("b", true).refusal, Refusal::full);
}

TEST(FairShare, ReleasedSlotsComeBackAndPressureIsHalfFull) {
  FairShare share({4, 4});
  auto ids = fill(share, "a", 2);
  EXPECT_TRUE(share.under_pressure());
  share.release(ids[0]);
  EXPECT_FALSE(share.under_pressure());
  share.release(ids[1]);
  EXPECT_EQ(share.taken(), 0u);
  EXPECT_EQ(share.busiest(), 0u);
}

TEST(LogThrottle, OneLinePerIntervalWithTheCountHeldBack) {
  using namespace std::chrono_literals;
  LogThrottle throttle(10s);
  const auto t0 = LogThrottle::Clock::time_point{} + 1h;
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(throttle.allow(t0, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(throttle.allow(t0 + 1s, suppressed));
  EXPECT_FALSE(throttle.allow(t0 + 9s, suppressed));
  EXPECT_TRUE(throttle.allow(t0 + 10s, suppressed));
  EXPECT_EQ(suppressed, 2u);
}

}  // namespace
}  // namespace stargate
