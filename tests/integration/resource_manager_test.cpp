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


ResourceLimits stream_limits() {
  ResourceLimits limits = small_limits();
  limits.max_streams = 6;
  limits.max_negotiating_streams = 4;
  limits.max_negotiating_streams_per_peer = 3;
  limits.max_streams_per_peer = 5;
  limits.max_memory = 1000;
  limits.max_memory_per_peer = 600;
  limits.max_memory_per_connection = 300;
  limits.protocol_default = ScopeLimits{kUnlimited, kUnlimited, kUnlimited};
  limits.protocols["/p/1"] = ScopeLimits{3, 2, 500};
  limits.services["svc"] = ScopeLimits{5, 3, 400};
  return limits;
}

std::size_t gauge(const ResourceUsage& usage, const std::string& scope, const std::string& name,
                  const std::string& resource, std::size_t* limit = nullptr) {
  for (const auto& s : usage.scopes) {
    if (s.scope != scope || s.name != name) continue;
    for (const auto& g : s.gauges) {
      if (g.resource != resource) continue;
      if (limit) *limit = g.limit;
      return g.used;
    }
  }
  ADD_FAILURE() << "no gauge " << scope << "/" << name << "/" << resource;
  return 0;
}

TEST(ResourceManagerTest, StreamsCountInTransientScopeUntilTheirProtocolIsKnown) {
  auto manager = ResourceManager::create(stream_limits());
  std::string why;
  std::vector<StreamScope> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(manager->open_stream("peer-" + std::to_string(i), why));
    ASSERT_TRUE(streams.back()) << why;
  }
  // Four streams in negotiation fill the transient scope.
  EXPECT_FALSE(manager->open_stream("peer-9", why));
  EXPECT_NE(why.find("protocol negotiation"), std::string::npos) << why;
  EXPECT_EQ(gauge(manager->usage(), "transient", "", "streams"), 4u);
  // Once one has its protocol, a new stream may negotiate.
  ASSERT_TRUE(streams[0].set_protocol("/other/1", why)) << why;
  EXPECT_EQ(gauge(manager->usage(), "transient", "", "streams"), 3u);
  EXPECT_TRUE(manager->open_stream("peer-9", why)) << why;  // a temporary: released at once
  EXPECT_EQ(manager->streams(), 4u);
  streams.clear();
  EXPECT_EQ(manager->streams(), 0u);
  EXPECT_EQ(manager->usage().peers, 0u);
  EXPECT_EQ(gauge(manager->usage(), "transient", "", "streams"), 0u);
}

TEST(ResourceManagerTest, OnePeerCannotTakeTheWholeTransientScope) {
  auto manager = ResourceManager::create(stream_limits());
  std::string why;
  std::vector<StreamScope> streams;
  for (int i = 0; i < 3; ++i) streams.push_back(manager->open_stream("greedy", why));
  EXPECT_FALSE(manager->open_stream("greedy", why));
  EXPECT_NE(why.find("negotiation with this peer (limit 3)"), std::string::npos) << why;
  EXPECT_EQ(gauge(manager->usage(), "transient", "", "streams_per_peer"), 3u);
  // Others still get in; and a negotiated stream frees the greedy peer's transient share.
  EXPECT_TRUE(manager->open_stream("other", why)) << why;
  ASSERT_TRUE(streams[0].set_protocol("/p/1", why)) << why;
  EXPECT_TRUE(manager->open_stream("greedy", why)) << why;
  EXPECT_EQ(manager->usage().refusals["transient streams_per_peer"], 1u);
}

TEST(ResourceManagerTest, SystemAndPeerStreamLimits) {
  auto limits = stream_limits();
  limits.max_negotiating_streams = limits.max_negotiating_streams_per_peer = 100;
  auto manager = ResourceManager::create(limits);
  std::string why;
  std::vector<StreamScope> streams;
  for (int i = 0; i < 5; ++i) streams.push_back(manager->open_stream("busy", why));
  for (const auto& s : streams) EXPECT_TRUE(s);
  EXPECT_FALSE(manager->open_stream("busy", why));
  EXPECT_NE(why.find("with this peer (limit 5)"), std::string::npos) << why;
  streams.push_back(manager->open_stream("other", why));
  EXPECT_TRUE(streams.back()) << why;
  EXPECT_FALSE(manager->open_stream("third", why));
  EXPECT_NE(why.find("too many streams (limit 6)"), std::string::npos) << why;
  auto usage = manager->usage();
  EXPECT_EQ(usage.refusals["peer streams"], 1u);
  EXPECT_EQ(usage.refusals["system streams"], 1u);
  std::size_t limit = 0;
  EXPECT_EQ(gauge(usage, "peer", "busiest", "streams", &limit), 5u);
  EXPECT_EQ(limit, 5u);
}

TEST(ResourceManagerTest, ProtocolAndServiceScopesLimitStreamsInAllAndPerPeer) {
  auto limits = stream_limits();
  limits.max_streams = limits.max_negotiating_streams = limits.max_streams_per_peer = 100;
  auto manager = ResourceManager::create(limits);
  manager->set_service("/p/1", "svc");
  manager->set_service("/p/2", "svc");
  std::string why;
  auto admit = [&](const std::string& peer, const std::string& protocol) {
    auto scope = manager->open_stream(peer, why);
    EXPECT_TRUE(scope) << why;
    if (!scope.set_protocol(protocol, why)) return StreamScope();
    return scope;
  };
  std::vector<StreamScope> held;
  held.push_back(admit("a", "/p/1"));
  held.push_back(admit("a", "/p/1"));
  ASSERT_TRUE(held[0] && held[1]);
  // The protocol allows 2 streams per peer...
  EXPECT_FALSE(admit("a", "/p/1"));
  EXPECT_NE(why.find("protocol /p/1 with this peer (limit 2)"), std::string::npos) << why;
  // ...and 3 in all.
  held.push_back(admit("b", "/p/1"));
  ASSERT_TRUE(held.back()) << why;
  EXPECT_FALSE(admit("c", "/p/1"));
  EXPECT_NE(why.find("too many streams for protocol /p/1 (limit 3)"), std::string::npos) << why;
  // The service (3 per peer, 4 in all) spans its protocols: "a" has 2 in /p/1, one more in /p/2.
  held.push_back(admit("a", "/p/2"));
  ASSERT_TRUE(held.back()) << why;
  EXPECT_FALSE(admit("a", "/p/2"));
  EXPECT_NE(why.find("service svc with this peer (limit 3)"), std::string::npos) << why;
  held.push_back(admit("d", "/p/2"));
  ASSERT_TRUE(held.back()) << why;
  EXPECT_FALSE(admit("e", "/p/2"));
  EXPECT_NE(why.find("too many streams for service svc (limit 5)"), std::string::npos) << why;
  // A protocol without a service or override: the defaults (unlimited here).
  EXPECT_TRUE(admit("d", "/free/1"));
  auto usage = manager->usage();
  EXPECT_EQ(gauge(usage, "service", "svc", "streams"), 5u);
  EXPECT_EQ(gauge(usage, "service", "svc", "streams_per_peer"), 3u);
  EXPECT_EQ(gauge(usage, "protocol", "/p/1", "streams"), 3u);
  EXPECT_EQ(usage.refusals["protocol streams_per_peer"], 1u);
  EXPECT_EQ(usage.refusals["service streams"], 1u);
  // Releasing gives every scope its share back.
  held.clear();
  usage = manager->usage();
  EXPECT_EQ(gauge(usage, "service", "svc", "streams"), 0u);
  EXPECT_EQ(gauge(usage, "protocol", "/p/1", "streams_per_peer"), 0u);
  EXPECT_EQ(manager->streams(), 0u);
  EXPECT_TRUE(admit("a", "/p/1"));
}

TEST(ResourceManagerTest, MemoryIsReservedAlongTheStreamsScopes) {
  auto manager = ResourceManager::create(stream_limits());
  manager->set_service("/p/1", "svc");
  std::string why;
  auto stream = manager->open_stream("a", why);
  ASSERT_TRUE(stream.set_protocol("/p/1", why)) << why;
  auto first = stream.reserve_memory(300, why);
  ASSERT_TRUE(first) << why;
  // The service allows 400 bytes.
  EXPECT_FALSE(stream.reserve_memory(200, why));
  EXPECT_NE(why.find("service svc (limit 400)"), std::string::npos) << why;
  auto second = stream.reserve_memory(100, why);
  EXPECT_TRUE(second) << why;
  EXPECT_EQ(manager->memory(), 400u);
  // The peer allows 600 bytes: a stream of another protocol from the same peer hits it.
  auto other = manager->open_stream("a", why);
  ASSERT_TRUE(other.set_protocol("/p/9", why));
  EXPECT_TRUE(other.reserve_memory(200, why));  // a temporary, released at once
  EXPECT_FALSE(other.reserve_memory(201, why));
  EXPECT_NE(why.find("this peer (limit 600)"), std::string::npos) << why;
  // An overflowing request is refused, not wrapped around.
  EXPECT_FALSE(other.reserve_memory(kUnlimited - 10, why));
  MemoryGrant moved = std::move(first);
  EXPECT_EQ(manager->memory(), 400u);
  moved.release();
  moved.release();
  EXPECT_EQ(manager->memory(), 100u);
  // Grants may outlive their stream scope; memory is given back when they go.
  stream.release();
  EXPECT_EQ(manager->memory(), 100u);
  second = MemoryGrant();
  EXPECT_EQ(manager->memory(), 0u);
  EXPECT_EQ(gauge(manager->usage(), "service", "svc", "memory"), 0u);
}

TEST(ResourceManagerTest, ConnectionMemoryIsBoundedByConnectionPeerAndSystem) {
  auto manager = ResourceManager::create(stream_limits());
  auto c1 = manager->connection_memory("a");
  auto c2 = manager->connection_memory("a");
  auto c3 = manager->connection_memory("b");
  EXPECT_EQ(c1->room(), 300u);  // the connection's limit
  c1->take(300);
  EXPECT_EQ(c1->room(), 0u);
  EXPECT_EQ(c2->room(), 300u);
  c2->take(250);
  EXPECT_EQ(c2->room(), 50u);  // the peer's 600
  c3->take(300);
  EXPECT_EQ(manager->memory(), 850u);
  auto c4 = manager->connection_memory("c");
  EXPECT_EQ(c4->room(), 150u);  // the system's 1000
  std::size_t limit = 0;
  EXPECT_EQ(gauge(manager->usage(), "connection", "busiest", "memory", &limit), 300u);
  EXPECT_EQ(limit, 300u);
  c1->give_back(100);
  EXPECT_EQ(manager->memory(), 750u);
  // A connection that goes gives back what it still holds.
  c2.reset();
  c1.reset();
  EXPECT_EQ(manager->memory(), 300u);
  EXPECT_EQ(manager->usage().peers, 1u);
}

TEST(ResourceManagerTest, ScopesMayOutliveTheirManager) {
  std::string why;
  StreamScope stream;
  MemoryGrant memory;
  std::unique_ptr<yamux::MemoryBudget> budget;
  {
    auto manager = ResourceManager::create(stream_limits());
    stream = manager->open_stream("a", why);
    ASSERT_TRUE(stream.set_protocol("/p/1", why));
    memory = stream.reserve_memory(10, why);
    budget = manager->connection_memory("a");
    budget->take(10);
  }
  EXPECT_EQ(budget->room(), 0u);
  budget->take(5);
  budget->give_back(5);
  budget.reset();
  memory.release();
  stream.release();
  EXPECT_FALSE(stream);
}

}  // namespace
}  // namespace stargate::p2p
