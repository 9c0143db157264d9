#include "p2p/protocols/kad/routing_table.hpp"

#include "unit/peers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::kad {
namespace {

using namespace std::chrono_literals;
using test::addr;
using test::some_peer;

const SteadyTime table_start{};

// A fresh peer whose key falls in bucket `cpl` seen from `self`.
crypto::PeerId peer_in_bucket(const crypto::PeerId& self, std::size_t cpl) {
  for (;;) {
    auto p = some_peer();
    if (common_prefix_length(key_of(self), key_of(p)) == cpl) return p;
  }
}

TEST(KadKey, DistanceAndPrefix) {
  auto a = some_peer(), b = some_peer();
  EXPECT_EQ(distance(key_of(a), key_of(a)), KadKey{});
  EXPECT_EQ(distance(key_of(a), key_of(b)), distance(key_of(b), key_of(a)));
  EXPECT_EQ(common_prefix_length(key_of(a), key_of(a)), kKeyBits);
  KadKey x, y;
  y.bytes[1] = 0x20;  // first difference at bit 8 + 2
  EXPECT_EQ(common_prefix_length(x, y), 10u);
}

TEST(RoutingTable, InsertsUpdatesAndIgnoresSelf) {
  auto self = some_peer();
  RoutingTable table(self);
  EXPECT_EQ(table.add(self, {}, table_start).outcome, RoutingTable::Outcome::self);
  auto p = some_peer();
  EXPECT_EQ(table.add(p, {addr("/ip4/1.2.3.4/tcp/1")}, table_start).outcome, RoutingTable::Outcome::inserted);
  EXPECT_EQ(table.add(p, {}, table_start + 1s).outcome, RoutingTable::Outcome::updated);
  ASSERT_NE(table.find(p), nullptr);
  EXPECT_EQ(table.find(p)->addrs.size(), 1u);  // empty addrs keep the known ones
  EXPECT_EQ(table.size(), 1u);
}

TEST(RoutingTable, FullBucketCachesNewcomersAndChecksItsOldestPeer) {
  auto self = some_peer();
  RoutingTable table(self, RoutingTableConfig{.bucket_size = 3, .replacement_cache = 2, .max_addrs_per_peer = 8,
                                              .check_after = 60s});
  std::vector<crypto::PeerId> members;
  for (int i = 0; i < 3; ++i) {
    members.push_back(peer_in_bucket(self, 0));
    EXPECT_EQ(table.add(members.back(), {}, table_start + std::chrono::seconds(i)).outcome, RoutingTable::Outcome::inserted);
  }
  auto newcomer = peer_in_bucket(self, 0);
  // The oldest was seen recently: cached, nobody to check.
  auto early = table.add(newcomer, {}, table_start + 10s);
  EXPECT_EQ(early.outcome, RoutingTable::Outcome::cached);
  EXPECT_FALSE(early.check);
  // Later the oldest is due a check.
  auto later = table.add(newcomer, {}, table_start + 100s);
  ASSERT_TRUE(later.check);
  EXPECT_EQ(*later.check, members[0]);
  EXPECT_EQ(table.replacements(), 1u);
  // It failed: the newcomer takes its place.
  table.failed(members[0]);
  EXPECT_EQ(table.find(members[0]), nullptr);
  EXPECT_NE(table.find(newcomer), nullptr);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.replacements(), 0u);
  // The cache is bounded.
  for (int i = 0; i < 5; ++i) table.add(peer_in_bucket(self, 0), {}, table_start + 200s);
  EXPECT_EQ(table.replacements(), 2u);
}

TEST(RoutingTable, SeenMovesAPeerOutOfTheCheckQueue) {
  auto self = some_peer();
  RoutingTable table(self, RoutingTableConfig{.bucket_size = 2, .replacement_cache = 2, .max_addrs_per_peer = 8,
                                              .check_after = 60s});
  auto a = peer_in_bucket(self, 0), b = peer_in_bucket(self, 0);
  table.add(a, {}, table_start);
  table.add(b, {}, table_start);
  table.seen(a, table_start + 100s);
  auto result = table.add(peer_in_bucket(self, 0), {}, table_start + 100s);
  ASSERT_TRUE(result.check);
  EXPECT_EQ(*result.check, b);
  EXPECT_EQ(table.stale(table_start + 100s, 60s), std::vector<crypto::PeerId>{b});
}

TEST(RoutingTable, ClosestAreSortedByXorDistance) {
  auto self = some_peer();
  RoutingTable table(self);
  std::vector<crypto::PeerId> peers;
  for (int i = 0; i < 60; ++i) {
    peers.push_back(some_peer());
    table.add(peers.back(), {}, table_start);
  }
  const auto target = key_of(some_peer());
  auto closest = table.closest(target, 10);
  ASSERT_EQ(closest.size(), 10u);
  for (std::size_t i = 1; i < closest.size(); ++i)
    EXPECT_LT(distance(closest[i - 1].key, target), distance(closest[i].key, target));
  // Nothing in the table is closer than the 10th.
  std::size_t closer = 0;
  EXPECT_FALSE(table.occupied_buckets().empty());
  for (const auto& p : peers)
    if (table.find(p) && distance(key_of(p), target) < distance(closest.back().key, target)) ++closer;
  EXPECT_EQ(closer, 9u);
}

}  // namespace
}  // namespace stargate::p2p::kad
