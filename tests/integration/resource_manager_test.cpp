// ResourceManager bookkeeping without sockets. It lives in the I/O library (stargate_p2p), which
// only the integration binary links, hence this file's place.
#include "p2p/host/resource_manager.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stargate::p2p {
namespace {

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

ResourceLimits small_limits() {
  ResourceLimits limits;
  limits.max_connections = 100;
  limits.max_pending_handshakes = 2;
  limits.max_connections_per_peer = 2;
  limits.max_connections_per_ip = 2;
  return limits;
}

TEST(ResourceManagerTest, PerIpLimitAppliesToNonLoopbackAddresses) {
  auto manager = ResourceManager::create(small_limits());
  std::string why;
  auto g1 = manager->admit_connection(ip("192.0.2.7"), "peer-1", why);
  auto g2 = manager->admit_connection(ip("192.0.2.7"), "peer-2", why);
  ASSERT_TRUE(g1);
  ASSERT_TRUE(g2);
  auto g3 = manager->admit_connection(ip("192.0.2.7"), "peer-3", why);
  EXPECT_FALSE(g3);
  EXPECT_NE(why.find("192.0.2.7"), std::string::npos) << why;
  EXPECT_NE(why.find("limit 2"), std::string::npos) << why;
  EXPECT_EQ(manager->connections(), 2u);
  // Another address has its own count; IPv6 too.
  why.clear();
  auto other = manager->admit_connection(ip("198.51.100.1"), "peer-3", why);
  EXPECT_TRUE(other) << why;
  auto v6a = manager->admit_connection(ip("2001:db8::1"), "peer-4", why);
  auto v6b = manager->admit_connection(ip("2001:db8::1"), "peer-5", why);
  auto v6c = manager->admit_connection(ip("2001:db8::1"), "peer-6", why);
  EXPECT_TRUE(v6a);
  EXPECT_TRUE(v6b);
  EXPECT_FALSE(v6c);
  EXPECT_EQ(manager->connections(), 5u);
}

TEST(ResourceManagerTest, LoopbackIsExemptFromPerIpLimit) {
  auto manager = ResourceManager::create(small_limits());
  std::vector<ResourceGrant> grants;
  std::string why;
  for (int i = 0; i < 10; ++i) {
    grants.push_back(manager->admit_connection(ip("127.0.0.1"), "v4-peer-" + std::to_string(i), why));
    ASSERT_TRUE(grants.back()) << why;
    grants.push_back(manager->admit_connection(ip("::1"), "v6-peer-" + std::to_string(i), why));
    ASSERT_TRUE(grants.back()) << why;
  }
  EXPECT_EQ(manager->connections(), 20u);
  // ...but not from the per-peer limit.
  auto third = manager->admit_connection(ip("127.0.0.1"), "v4-peer-0", why);
  auto fourth = manager->admit_connection(ip("127.0.0.1"), "v4-peer-0", why);
  EXPECT_TRUE(third);
  EXPECT_FALSE(fourth);
  EXPECT_NE(why.find("peer"), std::string::npos) << why;
}

TEST(ResourceManagerTest, PerPeerLimitSpansAddresses) {
  auto manager = ResourceManager::create(small_limits());
  std::string why;
  auto a = manager->admit_connection(ip("192.0.2.1"), "peer", why);
  auto b = manager->admit_connection(ip("198.51.100.1"), "peer", why);
  auto c = manager->admit_connection(ip("203.0.113.1"), "peer", why);
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(c);
  EXPECT_NE(why.find("limit 2"), std::string::npos) << why;
}

TEST(ResourceManagerTest, SystemLimitOnTotalConnections) {
  auto limits = small_limits();
  limits.max_connections = 3;
  limits.max_connections_per_ip = 100;
  auto manager = ResourceManager::create(limits);
  std::vector<ResourceGrant> grants;
  std::string why;
  for (int i = 0; i < 3; ++i) grants.push_back(manager->admit_connection(ip("192.0.2.1"), std::to_string(i), why));
  for (const auto& g : grants) EXPECT_TRUE(g);
  EXPECT_FALSE(manager->admit_connection(ip("192.0.2.2"), "x", why));
  EXPECT_NE(why.find("too many connections"), std::string::npos) << why;
}

TEST(ResourceManagerTest, HandshakeLimitAndRelease) {
  auto manager = ResourceManager::create(small_limits());
  std::string why;
  auto h1 = manager->begin_handshake(why);
  auto h2 = manager->begin_handshake(why);
  ASSERT_TRUE(h1);
  ASSERT_TRUE(h2);
  EXPECT_EQ(manager->pending_handshakes(), 2u);
  why.clear();
  auto h3 = manager->begin_handshake(why);
  EXPECT_FALSE(h3);
  EXPECT_NE(why.find("pending handshakes"), std::string::npos) << why;
  // A refused grant releases nothing when it goes.
  h3 = ResourceGrant();
  EXPECT_EQ(manager->pending_handshakes(), 2u);
  h1.release();
  h1.release();  // idempotent
  EXPECT_EQ(manager->pending_handshakes(), 1u);
  EXPECT_TRUE(manager->begin_handshake(why));  // a temporary: released at once
  EXPECT_EQ(manager->pending_handshakes(), 1u);
}

TEST(ResourceManagerTest, GrantsAreReleasedOnDestructionAndMoveOnce) {
  auto manager = ResourceManager::create(small_limits());
  std::string why;
  {
    auto a = manager->admit_connection(ip("192.0.2.9"), "peer", why);
    auto b = manager->admit_connection(ip("192.0.2.9"), "peer", why);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_FALSE(manager->admit_connection(ip("192.0.2.9"), "other", why));  // per-IP full
    ResourceGrant moved(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(moved);
    ResourceGrant assigned;
    assigned = std::move(moved);
    EXPECT_EQ(manager->connections(), 2u);
    // Assigning over a held grant releases the old one.
    assigned = std::move(b);
    EXPECT_EQ(manager->connections(), 1u);
  }
  EXPECT_EQ(manager->connections(), 0u);
  // Every scope was emptied: the same IP and peer are admitted up to the limits again.
  auto again1 = manager->admit_connection(ip("192.0.2.9"), "peer", why);
  auto again2 = manager->admit_connection(ip("192.0.2.9"), "peer", why);
  EXPECT_TRUE(again1) << why;
  EXPECT_TRUE(again2) << why;
}

TEST(ResourceManagerTest, GrantMayOutliveItsManager) {
  std::string why;
  ResourceGrant connection;
  ResourceGrant handshake;
  {
    auto manager = ResourceManager::create(small_limits());
    connection = manager->admit_connection(ip("192.0.2.1"), "peer", why);
    handshake = manager->begin_handshake(why);
    ASSERT_TRUE(connection);
    ASSERT_TRUE(handshake);
  }
  // The manager is gone: releasing must neither crash nor touch freed memory (ASan checks).
  connection.release();
  EXPECT_FALSE(connection);
  // `handshake` is released by its destructor at the end of the test.
  EXPECT_TRUE(handshake);
}

}  // namespace
}  // namespace stargate::p2p
