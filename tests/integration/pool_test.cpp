// The host's connection pool on loopback: the cap closes the least recently used idle connection,
// idle connections close after the idle timeout, a connection with a stream in flight stays past
// both, a relay holding our reservation stays while the reservation is wanted, and 1,000 calls
// from one agent to another go over one connection.
#include "agent_test_support.hpp"
#include "host_test_support.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"

namespace stargate {
namespace {

using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

constexpr const char* kHold = "/hold/1.0.0";

p2p::HostConfig pool_config(std::size_t max, std::chrono::milliseconds idle, std::chrono::milliseconds grace) {
  p2p::HostConfig config;
  config.pool.max_connections = max;
  config.pool.idle_timeout = idle;
  config.pool.grace_period = grace;
  return config;
}

// A bare host (no identify, so no streams the test did not open) whose /hold/1.0.0 handler keeps
// a stream open until the other side closes its end.
struct PoolNode {
  explicit PoolNode(boost::asio::io_context& io, p2p::HostConfig config = {})
      : host(io.get_executor(), crypto::Ed25519PrivateKey::generate(), std::move(config)) {
    addr = host.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    host.set_handler(kHold, [](std::shared_ptr<p2p::MuxedStream> stream) -> awaitable<void> {
      Bytes buffer(64);
      while (co_await stream->read_some(buffer) > 0) {
      }
      co_await stream->close_write();
    });
  }
  Multiaddr full_addr() const {
    return addr.encapsulate(Multiaddr::parse("/p2p/" + host.peer_id().to_string()).value());
  }
  p2p::Host host;
  Multiaddr addr;
};

// What a pool holds and has done, compared in one go.
struct PoolCounts {
  std::size_t size = 0, busy = 0;
  std::uint64_t hits = 0, misses = 0, idle = 0, capacity = 0, overruns = 0;
  bool operator==(const PoolCounts&) const = default;
};
PoolCounts counts(const p2p::Host& host) {
  auto s = host.pool_stats();
  return {s.size, s.busy, s.hits, s.misses, s.evictions_idle, s.evictions_capacity, s.cap_overruns};
}
[[maybe_unused]] std::ostream& operator<<(std::ostream& out, const PoolCounts& c) {
  return out << "{size " << c.size << ", busy " << c.busy << ", hits " << c.hits << ", misses " << c.misses
             << ", idle evictions " << c.idle << ", capacity evictions " << c.capacity << ", overruns " << c.overruns
             << "}";
}

awaitable<std::shared_ptr<p2p::MuxedStream>> hold(p2p::Host& host, const std::shared_ptr<p2p::MuxedConnection>& c) {
  std::vector<std::string> protocols{kHold};
  co_return co_await host.open_stream(c, protocols);
}

// Ends a stream opened by hold(): our side closes, the peer's handler closes its side.
awaitable<void> release(std::shared_ptr<p2p::MuxedStream>& stream) {
  co_await stream->close_write();
  Bytes buffer(64);
  while (co_await stream->read_some(buffer) > 0) {
  }
  stream = nullptr;
}

class PoolTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

TEST_F(PoolTest, AboveTheCapTheLeastRecentlyUsedIdleConnectionIsClosed) {
  PoolNode a(io, pool_config(2, 1h, 0ms));
  PoolNode b(io), c(io), d(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto to_b = co_await a.host.connect(b.full_addr());
    auto to_c = co_await a.host.connect(c.full_addr());
    // B used again (a hit): C is now the least recently used.
    auto again = co_await a.host.connect(b.full_addr());
    EXPECT_EQ(again, to_b);
    auto to_d = co_await a.host.connect(d.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return to_c->is_closed(); }, 5s));
    EXPECT_FALSE(to_b->is_closing());
    EXPECT_FALSE(to_d->is_closing());
    // The GoAway and the close reach C, which drops its side too.
    EXPECT_TRUE(co_await wait_until([&] { return c.host.connections().empty(); }, 5s));
    EXPECT_EQ(counts(a.host), (PoolCounts{.size = 2, .hits = 1, .misses = 3, .capacity = 1}));
    EXPECT_EQ(a.host.connections().size(), 2u);
    // The inbound side counts its connections too.
    EXPECT_EQ(b.host.pool_stats().size, 1u);
  });
}

TEST_F(PoolTest, IdleConnectionIsClosedAfterTheIdleTimeout) {
  PoolNode a(io, pool_config(100, 300ms, 0ms));
  PoolNode b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto started = p2p::Clock::now();
    auto connection = co_await a.host.connect(b.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return connection->is_closed(); }, 5s));
    EXPECT_GE(p2p::Clock::now() - started, 300ms);
    EXPECT_EQ(counts(a.host), (PoolCounts{.misses = 1, .idle = 1}));
    EXPECT_TRUE(a.host.connections().empty());
    EXPECT_EQ(a.host.find_connection(b.host.peer_id()), nullptr);
    // The next connect dials again.
    auto fresh = co_await a.host.connect(b.full_addr());
    EXPECT_NE(fresh, connection);
    EXPECT_EQ(counts(a.host), (PoolCounts{.size = 1, .misses = 2, .idle = 1}));
  });
}

TEST_F(PoolTest, ConnectionsWithStreamsInFlightOutliveTheIdleTimeoutAndTheCap) {
  // Cap 1; new connections are spared from capacity eviction for an hour, so the only eviction
  // that can happen to the idle witness D is the idle one.
  PoolNode a(io, pool_config(1, 200ms, 1h));
  PoolNode b(io), c(io), d(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto to_b = co_await a.host.connect(b.full_addr());
    auto on_b = co_await hold(a.host, to_b);
    auto to_c = co_await a.host.connect(c.full_addr());
    auto on_c = co_await hold(a.host, to_c);
    auto witness = co_await a.host.connect(d.full_addr());
    // D, idle, goes after 200 ms; B and C, older but busy, stay although the pool is over its cap.
    CO_ASSERT_TRUE(co_await wait_until([&] { return witness->is_closed(); }, 5s));
    EXPECT_FALSE(to_b->is_closing());
    EXPECT_FALSE(to_c->is_closing());
    EXPECT_EQ(counts(a.host), (PoolCounts{.size = 2, .busy = 2, .misses = 3, .idle = 1, .overruns = 1}));
    // Once its stream is done, B is idle: its idle time starts then.
    auto released = p2p::Clock::now();
    co_await release(on_b);
    CO_ASSERT_TRUE(co_await wait_until([&] { return to_b->is_closed(); }, 5s));
    EXPECT_GE(p2p::Clock::now() - released, 200ms);
    EXPECT_FALSE(to_c->is_closing());
    EXPECT_EQ(a.host.pool_stats().evictions_idle, 2u);
    co_await release(on_c);
    CO_ASSERT_TRUE(co_await wait_until([&] { return to_c->is_closed(); }, 5s));
    EXPECT_EQ(a.host.pool_stats().size, 0u);
  });
}

TEST_F(PoolTest, RelayHoldingOurReservationIsProtectedAndRelayedConnectionsCount) {
  TestNode relay(io);
  auto service = p2p::relay::RelayService::enable(relay.host);
  TestNode a(io, {}, std::nullopt, "");
  TestNode b(io, pool_config(100, 300ms, 0ms), std::nullopt, "");
  TestNode c(io);
  auto a_client = p2p::relay::RelayClient::enable(a.host);
  auto b_client = p2p::relay::RelayClient::enable(b.host);
  run_with_timeout(io, [&]() -> awaitable<void> {
    b_client->add_relay(relay.full_addr());
    co_await b_client->wait_reserved(1, 10s);
    auto to_relay = b.host.find_connection(relay.host.peer_id());
    CO_ASSERT_TRUE(to_relay != nullptr);
    // A reaches B through the relay: a relayed connection, pooled like any other on both sides.
    auto circuit = relay.full_addr().encapsulate(Multiaddr::parse("/p2p-circuit/p2p/" + b.host.peer_id().to_string()).value());
    auto relayed = co_await a.host.connect(circuit);
    EXPECT_TRUE(relayed->info().relayed);
    EXPECT_EQ(a.host.pool_stats().relayed, 1u);
    EXPECT_EQ(a.host.pool_stats().size, 2u);  // the relay, and B through it
    CO_ASSERT_TRUE(co_await wait_until([&] { return b.host.pool_stats().relayed == 1; }, 5s));
    // B's other connections go idle and are closed; the relay's stays while the reservation is wanted.
    auto to_c = co_await b.host.connect(c.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return to_c->is_closed(); }, 5s));
    CO_ASSERT_TRUE(co_await wait_until([&] { return b.host.pool_stats().relayed == 0; }, 5s));
    EXPECT_EQ(b.host.pool_stats().evictions_idle, 2u);
    EXPECT_FALSE(to_relay->is_closing());
    EXPECT_TRUE(b_client->reservations().at(0).active);
    // No longer wanted: the relay's connection is an idle connection like the others.
    b_client->close();
    CO_ASSERT_TRUE(co_await wait_until([&] { return to_relay->is_closed(); }, 5s));
    EXPECT_EQ(b.host.pool_stats().evictions_idle, 3u);
  });
}

// NodeOptions' pool settings reach the node's host.
NodeOptions pool_agent(const std::string& name, std::size_t max, std::chrono::milliseconds idle) {
  auto options = p2p_agent(name);
  options.pool_max_connections = max;
  options.pool_idle_timeout = idle;
  options.pool_grace_period = 0ms;
  return options;
}

bool connected_to(const StarGateNode& node, const StarGateNode& peer) {
  for (const auto& c : node.get_status().connections)
    if (c.peer_id == peer.peer_id()) return true;
  return false;
}

TEST_F(PoolTest, AnAgentWithACapOfTwoClosesItsLeastRecentlyUsedIdleConnection) {
  EXPECT_EQ(NodeOptions{}.pool_max_connections, p2p::pool::PoolConfig{}.max_connections);
  EXPECT_EQ(NodeOptions{}.pool_idle_timeout, p2p::pool::PoolConfig{}.idle_timeout);
  EXPECT_EQ(NodeOptions{}.pool_grace_period, p2p::pool::PoolConfig{}.grace_period);
  StarGateNode a(io.get_executor(), pool_agent("cap-a", 2, 1h));
  StarGateNode b(io.get_executor(), p2p_agent("cap-b"));
  StarGateNode c(io.get_executor(), p2p_agent("cap-c"));
  StarGateNode d(io.get_executor(), p2p_agent("cap-d"));
  for (auto* n : {&b, &c, &d}) n->handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto* n : {&a, &b, &c, &d}) co_await n->start();
    boost::json::value params = boost::json::object{{"n", 1}};
    co_await a.call(b.get_status().addresses.front(), "echo", params);
    co_await a.call(c.get_status().addresses.front(), "echo", params);
    co_await a.call(b.get_status().addresses.front(), "echo", params);  // B used again: C is the LRU
    co_await a.call(d.get_status().addresses.front(), "echo", params);
    CO_ASSERT_TRUE(co_await wait_until([&] { return !connected_to(a, c); }, 5s));
    auto status = a.get_status();
    EXPECT_EQ(status.pool_size, 2u);
    EXPECT_EQ(status.pool_evictions.at("capacity"), 1u);
    EXPECT_EQ(status.pool_evictions.at("idle"), 0u);
    EXPECT_TRUE(connected_to(a, b));
    EXPECT_TRUE(connected_to(a, d));
    // C's side learns of the close too.
    EXPECT_TRUE(co_await wait_until([&] { return !connected_to(c, a); }, 5s));
    for (auto* n : {&a, &b, &c, &d}) co_await n->stop();
  });
}

TEST_F(PoolTest, AnAgentWithAShortIdleTimeoutClosesIdleConnections) {
  StarGateNode a(io.get_executor(), pool_agent("idle-a", 100, 300ms));
  StarGateNode b(io.get_executor(), p2p_agent("idle-b"));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    auto target = b.get_status().addresses.front();
    boost::json::value params = boost::json::object{{"n", 1}};
    co_await a.call(target, "echo", params);
    auto idle_since = p2p::Clock::now();
    CO_ASSERT_TRUE(co_await wait_until([&] { return a.get_status().pool_size == 0; }, 5s));
    EXPECT_GE(p2p::Clock::now() - idle_since, 300ms);
    EXPECT_EQ(a.get_status().pool_evictions.at("idle"), 1u);
    EXPECT_TRUE(co_await wait_until([&] { return !connected_to(b, a); }, 5s));
    // B keeps the default five minutes: only A's setting closed it. The next call dials again.
    EXPECT_EQ(b.get_status().pool_evictions.at("idle"), 0u);
    co_await a.call(target, "echo", params);
    EXPECT_EQ(a.get_status().pool_misses, 2u);
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_F(PoolTest, AThousandSequentialCallsUseOneConnection) {
  StarGateNode a(io.get_executor(), p2p_agent("pool-a"));
  StarGateNode b(io.get_executor(), p2p_agent("pool-b"));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    auto addresses = b.get_status().addresses;
    CO_ASSERT_FALSE(addresses.empty());
    for (int i = 0; i < 1000; ++i) {
      boost::json::value params = boost::json::object{{"i", i}};
      auto result = co_await a.call(addresses.front(), "echo", params);
      if (result.at("echo").at("i").as_int64() != i) {
        ADD_FAILURE() << "call " << i << " got " << boost::json::serialize(result);
        co_return;
      }
    }
    // One dial (the first call's miss), then 999 reuses; one connection on each side.
    auto status = a.get_status();
    EXPECT_EQ(status.pool_misses, 1u);
    EXPECT_EQ(status.pool_hits, 999u);
    EXPECT_EQ(status.pool_size, 1u);
    EXPECT_EQ(status.connections.size(), 1u);
    EXPECT_EQ(status.pool_evictions.at("idle") + status.pool_evictions.at("capacity"), 0u);
    EXPECT_EQ(b.get_status().pool_size, 1u);
    auto metrics = a.get_metrics();
    EXPECT_NE(metrics.find("stargate_pool_connections 1\n"), std::string::npos);
    EXPECT_NE(metrics.find("stargate_pool_hits_total 999\n"), std::string::npos);
    EXPECT_NE(metrics.find("stargate_pool_misses_total 1\n"), std::string::npos);
    EXPECT_NE(metrics.find("stargate_pool_evictions_total{reason=\"idle\"} 0\n"), std::string::npos);
    EXPECT_NE(metrics.find("stargate_pool_evictions_total{reason=\"capacity\"} 0\n"), std::string::npos);
    co_await a.stop();
    co_await b.stop();
  }, std::chrono::seconds(120));
}

}  // namespace
}  // namespace stargate
