#include "p2p/protocols/relay/relay_health.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::relay {
namespace {

using namespace std::chrono_literals;

crypto::PeerId id(const char* text) { return crypto::PeerId::parse(text).value(); }

const crypto::PeerId kPrimary = id("12D3KooWGsUPE814N8ons6XNM8C7iuEneGBTDxW92NazvBP4eXiu");
const crypto::PeerId kBackup = id("12D3KooW9zKqRQ16BtBsH9WaGRWkYTyntc34fV9btSDdXvCZNDJP");

RelayHealthTable table(std::size_t reservations, unsigned failures = 3) {
  RelayHealthPolicy policy;
  policy.failures_before_unhealthy = failures;
  policy.reservations = reservations;
  return RelayHealthTable({kPrimary, kBackup}, policy);
}

TEST(RelayHealth, UnprobedRelaysAreCandidatesInListOrder) {
  auto one = table(1);
  EXPECT_EQ(one.preferred(), std::vector<crypto::PeerId>{kPrimary});
  auto two = table(2);
  EXPECT_EQ(two.preferred(), (std::vector<crypto::PeerId>{kPrimary, kBackup}));
  EXPECT_EQ(to_string(two.find(kPrimary)->state), "unknown");
}

TEST(RelayHealth, UnhealthyOnlyAfterConsecutiveFailures) {
  auto t = table(1);
  EXPECT_FALSE(t.record_failure(kPrimary, "timeout"));
  EXPECT_TRUE(t.suspect(kPrimary));
  EXPECT_FALSE(t.record_failure(kPrimary, "timeout"));
  // A success in between starts the count again.
  EXPECT_TRUE(t.record_success(kPrimary, 5ms));
  EXPECT_FALSE(t.suspect(kPrimary));
  EXPECT_FALSE(t.record_failure(kPrimary, "timeout"));
  EXPECT_FALSE(t.record_failure(kPrimary, "timeout"));
  EXPECT_EQ(t.preferred(), std::vector<crypto::PeerId>{kPrimary});
  EXPECT_TRUE(t.record_failure(kPrimary, "connection refused"));
  EXPECT_TRUE(t.unhealthy(kPrimary));
  EXPECT_FALSE(t.suspect(kPrimary));
  EXPECT_EQ(t.find(kPrimary)->last_error, "connection refused");
  EXPECT_EQ(t.find(kPrimary)->became_unhealthy, 1u);
  // Further failures change nothing.
  EXPECT_FALSE(t.record_failure(kPrimary, "connection refused"));
  EXPECT_EQ(t.find(kPrimary)->probes_failed, 6u);
}

TEST(RelayHealth, FailsOverToTheBackupAndBack) {
  auto t = table(1, 2);
  t.record_success(kPrimary, 3ms);
  t.record_success(kBackup, 4ms);
  EXPECT_EQ(t.preferred(), std::vector<crypto::PeerId>{kPrimary});
  t.record_failure(kPrimary, "reset");
  t.record_failure(kPrimary, "reset");
  EXPECT_EQ(t.preferred(), std::vector<crypto::PeerId>{kBackup});
  // Every relay down: nothing to reserve on (the node is reached over NATS).
  t.record_failure(kBackup, "reset");
  t.record_failure(kBackup, "reset");
  EXPECT_TRUE(t.preferred().empty());
  // The primary comes back: preferred again, at once.
  EXPECT_TRUE(t.record_success(kPrimary, 2ms));
  EXPECT_EQ(t.preferred(), std::vector<crypto::PeerId>{kPrimary});
  ASSERT_TRUE(t.find(kPrimary)->last_rtt);
  EXPECT_EQ(*t.find(kPrimary)->last_rtt, 2ms);
  EXPECT_EQ(t.find(kPrimary)->became_healthy, 2u);
}

TEST(RelayHealth, IgnoresRelaysItDoesNotKnowAndDuplicates) {
  RelayHealthTable t({kPrimary, kPrimary}, RelayHealthPolicy{});
  EXPECT_EQ(t.records().size(), 1u);
  EXPECT_FALSE(t.record_failure(kBackup, "x"));
  EXPECT_FALSE(t.record_success(kBackup, 1ms));
  EXPECT_EQ(t.find(kBackup), nullptr);
}

}  // namespace
}  // namespace stargate::p2p::relay
