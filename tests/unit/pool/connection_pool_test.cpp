#include "p2p/pool/connection_pool.hpp"

#include "crypto/ed25519.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::pool {
namespace {

using namespace std::chrono_literals;

crypto::PeerId some_peer() {
  return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
}

std::vector<ConnectionId> ids(const std::vector<Eviction>& evictions) {
  std::vector<ConnectionId> out;
  for (const auto& e : evictions) out.push_back(e.id);
  return out;
}

struct PoolTest : ::testing::Test {
  TimePoint t0 = TimePoint{} + 1h;
  PoolConfig config(std::size_t max, std::chrono::milliseconds idle = 5min, std::chrono::milliseconds grace = 0ms) {
    PoolConfig c;
    c.max_connections = max;
    c.idle_timeout = idle;
    c.grace_period = grace;
    return c;
  }
};

TEST_F(PoolTest, DefaultsAreAHundredConnectionsAndFiveMinutes) {
  PoolConfig c;
  EXPECT_EQ(c.max_connections, 100u);
  EXPECT_EQ(c.idle_timeout, 5min);
}

TEST_F(PoolTest, IdleConnectionIsEvictedAfterTheTimeout) {
  ConnectionPool pool(config(10, 30s));
  auto peer = some_peer();
  pool.add(1, peer, false, t0);
  EXPECT_EQ(pool.next_deadline(), t0 + 30s);
  EXPECT_TRUE(pool.poll(t0 + 29s).empty());
  auto evicted = pool.poll(t0 + 30s);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].id, 1u);
  EXPECT_EQ(evicted[0].peer, peer);
  EXPECT_EQ(evicted[0].reason, EvictionReason::idle);
  EXPECT_FALSE(pool.contains(1));
  EXPECT_EQ(pool.stats().evictions_idle, 1u);
  EXPECT_EQ(pool.stats().size, 0u);
  EXPECT_FALSE(pool.next_deadline().has_value());
}

TEST_F(PoolTest, UseMovesTheIdleDeadline) {
  ConnectionPool pool(config(10, 30s));
  pool.add(1, some_peer(), false, t0);
  pool.hit(1, t0 + 20s);
  EXPECT_EQ(pool.next_deadline(), t0 + 50s);
  EXPECT_TRUE(pool.poll(t0 + 40s).empty());
  // A stream that opens and closes later is a use too; idle time starts when it closes.
  pool.set_streams(1, 1, t0 + 45s);
  pool.set_streams(1, 0, t0 + 60s);
  EXPECT_EQ(pool.next_deadline(), t0 + 90s);
  EXPECT_TRUE(pool.poll(t0 + 89s).empty());
  EXPECT_EQ(ids(pool.poll(t0 + 90s)), std::vector<ConnectionId>{1});
  EXPECT_EQ(pool.stats().hits, 1u);
}

TEST_F(PoolTest, ConnectionWithStreamsIsNeverEvictedForIdleness) {
  ConnectionPool pool(config(10, 30s));
  pool.add(1, some_peer(), false, t0);
  pool.set_streams(1, 2, t0 + 1s);
  EXPECT_FALSE(pool.next_deadline().has_value());
  EXPECT_TRUE(pool.poll(t0 + 1h).empty());
  EXPECT_EQ(pool.stats().busy, 1u);
  pool.set_streams(1, 1, t0 + 2h);
  EXPECT_TRUE(pool.poll(t0 + 3h).empty());
  pool.set_streams(1, 0, t0 + 3h);
  EXPECT_TRUE(pool.poll(t0 + 3h + 29s).empty());
  EXPECT_EQ(ids(pool.poll(t0 + 3h + 30s)), std::vector<ConnectionId>{1});
}

TEST_F(PoolTest, AboveTheCapTheLeastRecentlyUsedIdleConnectionGoes) {
  ConnectionPool pool(config(2));
  pool.add(1, some_peer(), false, t0);
  pool.add(2, some_peer(), false, t0 + 1s);
  pool.hit(1, t0 + 2s);  // 2 is now the least recently used
  EXPECT_TRUE(pool.poll(t0 + 2s).empty());
  pool.add(3, some_peer(), true, t0 + 3s);
  EXPECT_LE(pool.next_deadline().value(), t0 + 3s);  // due now
  auto evicted = pool.poll(t0 + 3s);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].id, 2u);
  EXPECT_EQ(evicted[0].reason, EvictionReason::capacity);
  auto stats = pool.stats();
  EXPECT_EQ(stats.size, 2u);
  EXPECT_EQ(stats.relayed, 1u);
  EXPECT_EQ(stats.evictions_capacity, 1u);
  EXPECT_EQ(stats.evictions_idle, 0u);
  EXPECT_EQ(stats.cap_overruns, 0u);
}

TEST_F(PoolTest, BusyConnectionsAreKeptAboveTheCapAndTheOverrunIsCounted) {
  ConnectionPool pool(config(2));
  for (ConnectionId id = 1; id <= 3; ++id) {
    pool.add(id, some_peer(), false, t0);
    pool.set_streams(id, 1, t0);
  }
  EXPECT_FALSE(pool.next_deadline().has_value());
  EXPECT_TRUE(pool.poll(t0 + 1s).empty());
  EXPECT_TRUE(pool.poll(t0 + 2s).empty());
  EXPECT_EQ(pool.stats().size, 3u);
  EXPECT_EQ(pool.stats().cap_overruns, 1u);  // one stretch above the cap, however many polls
  // The first connection to go idle is then the one evicted.
  pool.set_streams(2, 0, t0 + 3s);
  EXPECT_LE(pool.next_deadline().value(), t0 + 3s);
  EXPECT_EQ(ids(pool.poll(t0 + 3s)), std::vector<ConnectionId>{2});
  EXPECT_EQ(pool.stats().evictions_capacity, 1u);
  // Above the cap again later: a second overrun.
  pool.add(4, some_peer(), false, t0 + 4s);
  pool.set_streams(4, 1, t0 + 4s);
  EXPECT_TRUE(pool.poll(t0 + 4s).empty());
  EXPECT_EQ(pool.stats().cap_overruns, 2u);
}

TEST_F(PoolTest, NewConnectionHasAGracePeriodBeforeCapacityEviction) {
  ConnectionPool pool(config(1, 5min, 10s));
  pool.add(1, some_peer(), false, t0);
  pool.set_streams(1, 1, t0);
  pool.add(2, some_peer(), false, t0 + 1s);  // not used yet: its dialer is about to open a stream
  EXPECT_EQ(pool.next_deadline(), t0 + 11s);
  EXPECT_TRUE(pool.poll(t0 + 1s).empty());
  EXPECT_EQ(pool.stats().cap_overruns, 1u);
  EXPECT_EQ(ids(pool.poll(t0 + 11s)), std::vector<ConnectionId>{2});
}

TEST_F(PoolTest, ProtectedPeerIsNeverEvicted) {
  ConnectionPool pool(config(1, 30s));
  auto relay = some_peer();
  pool.protect(relay, "relay");
  pool.protect(relay, "other");
  pool.add(1, relay, false, t0);
  pool.add(2, some_peer(), false, t0 + 1s);
  // Above the cap: the unprotected one goes although it is the more recently used.
  EXPECT_EQ(ids(pool.poll(t0 + 1s)), std::vector<ConnectionId>{2});
  EXPECT_TRUE(pool.poll(t0 + 1h).empty());
  EXPECT_TRUE(pool.unprotect(relay, "relay"));  // still protected by "other"
  EXPECT_TRUE(pool.poll(t0 + 2h).empty());
  EXPECT_FALSE(pool.unprotect(relay, "other"));
  EXPECT_FALSE(pool.is_protected(relay));
  EXPECT_EQ(ids(pool.poll(t0 + 2h)), std::vector<ConnectionId>{1});
  EXPECT_FALSE(pool.unprotect(relay, "never set"));
}

TEST_F(PoolTest, IdleEvictionsComeBeforeCapacityEvictions) {
  ConnectionPool pool(config(2, 30s));
  pool.add(1, some_peer(), false, t0);
  pool.add(2, some_peer(), false, t0 + 20s);
  pool.add(3, some_peer(), false, t0 + 25s);
  // At t0+30s, 1 is idle-expired; once it is gone the pool is at its cap.
  auto evicted = pool.poll(t0 + 30s);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].id, 1u);
  EXPECT_EQ(evicted[0].reason, EvictionReason::idle);
  EXPECT_EQ(pool.stats().evictions_capacity, 0u);
}

TEST_F(PoolTest, HitsMissesAndRemovals) {
  ConnectionPool pool(config(10));
  pool.miss();
  pool.add(7, some_peer(), false, t0);
  pool.hit(7, t0);
  pool.hit(7, t0);
  pool.add(7, some_peer(), true, t0);  // already tracked: unchanged
  EXPECT_EQ(pool.stats().relayed, 0u);
  pool.remove(7);
  pool.remove(7);  // closed twice, or after an eviction
  pool.set_streams(7, 1, t0);  // unknown: ignored
  auto stats = pool.stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.size, 0u);
  EXPECT_STREQ(to_string(EvictionReason::capacity), "capacity");
}

}  // namespace
}  // namespace stargate::p2p::pool
