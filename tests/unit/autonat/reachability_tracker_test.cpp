#include "p2p/protocols/autonat/reachability_tracker.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::autonat {
namespace {

using test::addr;
using test::some_peer;

struct Servers {
  crypto::PeerId a = some_peer(), b = some_peer(), c = some_peer(), d = some_peer();
};

// A tracker that a, b and c found public.
ReachabilityTracker found_public(const Servers& s) {
  ReachabilityTracker t;
  for (const auto* p : {&s.a, &s.b, &s.c}) t.record(*p, ProbeOutcome::reachable);
  return t;
}

TEST(ReachabilityTracker, ThreeAgreeingServersDecide) {
  Servers s;
  ReachabilityTracker t;
  EXPECT_EQ(t.reachability(), Reachability::unknown);
  EXPECT_FALSE(t.record(s.a, ProbeOutcome::reachable));
  EXPECT_FALSE(t.record(s.b, ProbeOutcome::reachable));
  EXPECT_EQ(t.reachability(), Reachability::unknown);
  EXPECT_TRUE(t.record(s.c, ProbeOutcome::reachable));
  EXPECT_EQ(t.reachability(), Reachability::public_);
  EXPECT_TRUE(t.confident());
  EXPECT_EQ(to_string(t.reachability()), "public");
}

TEST(ReachabilityTracker, OneServerRepeatingItselfIsNotEnough) {
  Servers s;
  ReachabilityTracker t;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(t.record(s.a, ProbeOutcome::unreachable));
  EXPECT_EQ(t.reachability(), Reachability::unknown);
  // ... but it does not break a run either.
  EXPECT_FALSE(t.record(s.b, ProbeOutcome::unreachable));
  EXPECT_TRUE(t.record(s.c, ProbeOutcome::unreachable));
  EXPECT_EQ(t.reachability(), Reachability::private_);
}

TEST(ReachabilityTracker, AlternatingResultsNeverFlap) {
  Servers s;
  auto t = found_public(s);
  ASSERT_EQ(t.reachability(), Reachability::public_);
  const crypto::PeerId* servers[] = {&s.a, &s.b, &s.c, &s.d};
  for (int i = 0; i < 40; ++i) {
    auto outcome = i % 2 ? ProbeOutcome::reachable : ProbeOutcome::unreachable;
    EXPECT_FALSE(t.record(*servers[i % 4], outcome)) << i;
    EXPECT_EQ(t.reachability(), Reachability::public_) << i;
  }
  // Two against, one for, two against: still no run of three.
  EXPECT_FALSE(t.record(s.a, ProbeOutcome::unreachable));
  EXPECT_FALSE(t.record(s.b, ProbeOutcome::unreachable));
  EXPECT_FALSE(t.record(s.c, ProbeOutcome::reachable));
  EXPECT_FALSE(t.record(s.d, ProbeOutcome::unreachable));
  EXPECT_EQ(t.reachability(), Reachability::public_);
}

TEST(ReachabilityTracker, ConfidenceFallsOnDisagreementAndTheVerdictTurnsOnARun) {
  Servers s;
  auto t = found_public(s);
  EXPECT_EQ(t.confidence(), 3);
  EXPECT_FALSE(t.record(s.a, ProbeOutcome::unreachable));
  EXPECT_EQ(t.confidence(), 2);
  EXPECT_FALSE(t.confident());
  EXPECT_FALSE(t.record(s.b, ProbeOutcome::unreachable));
  EXPECT_TRUE(t.record(s.d, ProbeOutcome::unreachable));
  EXPECT_EQ(t.reachability(), Reachability::private_);
  EXPECT_EQ(t.confidence(), 3);
}

TEST(ReachabilityTracker, NoEvidenceNeitherCountsNorBreaksARun) {
  Servers s;
  ReachabilityTracker t;
  t.record(s.a, ProbeOutcome::reachable);
  t.record(s.b, ProbeOutcome::no_evidence);
  t.record(s.b, ProbeOutcome::reachable);
  EXPECT_EQ(t.reachability(), Reachability::unknown);
  EXPECT_TRUE(t.record(s.c, ProbeOutcome::reachable));
}

TEST(ReachabilityTracker, AddressChangeKeepsTheVerdictButDropsConfidence) {
  Servers s;
  auto t = found_public(s);
  t.record(s.a, ProbeOutcome::unreachable);
  t.record(s.b, ProbeOutcome::unreachable);
  t.addresses_changed();
  EXPECT_EQ(t.reachability(), Reachability::public_);
  EXPECT_EQ(t.confidence(), 0);
  EXPECT_FALSE(t.confident());
  // The run of two before the change does not carry over.
  EXPECT_FALSE(t.record(s.c, ProbeOutcome::unreachable));
  EXPECT_EQ(t.reachability(), Reachability::public_);
}

TEST(ReachabilityTracker, ThresholdIsConfigurable) {
  Servers s;
  ReachabilityTracker t(TrackerConfig{1, 3});
  EXPECT_TRUE(t.record(s.a, ProbeOutcome::unreachable));
  EXPECT_EQ(t.reachability(), Reachability::private_);
}

}  // namespace
}  // namespace stargate::p2p::autonat
