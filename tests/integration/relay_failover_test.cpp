// Relay health and failover (docs/relay.md, "Health and failover"): an agent behind two relays
// keeps its reservation on the primary, moves it to the backup when the primary dies and comes
// back when the primary restarts; a call too large for one relay's limits goes through another.
#include "agent_test_support.hpp"
#include "host_test_support.hpp"
#include "nats_server.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

// A relay that can be killed and started again with the same identity on the same port.
struct RestartableRelay {
  RestartableRelay(boost::asio::io_context& io, p2p::relay::RelayLimits limits = p2p::relay::RelayLimits::private_relay())
      : io_(io), key_(crypto::Ed25519PrivateKey::generate()), limits_(limits) {
    start("/ip4/127.0.0.1/tcp/0");
    port_ = node->addr.to_string().substr(node->addr.to_string().rfind('/') + 1);
  }
  void start(const std::string& listen) {
    node = std::make_unique<TestNode>(io_, p2p::HostConfig{}, key_.clone(), listen);
    p2p::relay::RelayServiceOptions options;
    options.limits = limits_;
    service = p2p::relay::RelayService::enable(node->host, options);
  }
  void kill() {
    service->close();
    node->host.close();
  }
  void restart() { start("/ip4/127.0.0.1/tcp/" + port_); }
  std::string addr() const { return node->full_addr().to_string(); }
  std::string id() const { return node->host.peer_id().to_string(); }

  std::unique_ptr<TestNode> node;
  std::shared_ptr<p2p::relay::RelayService> service;

 private:
  boost::asio::io_context& io_;
  crypto::Ed25519PrivateKey key_;
  p2p::relay::RelayLimits limits_;
  std::string port_;
};

bool has_circuit_through(const NodeStatus& status, const std::string& relay) {
  for (const auto& a : status.addresses)
    if (a.find("/p2p/" + relay + "/p2p-circuit") != std::string::npos) return true;
  return false;
}

const NodeStatus::Relay* relay_in(const NodeStatus& status, const std::string& relay) {
  for (const auto& r : status.relays)
    if (r.relay == relay) return &r;
  return nullptr;
}

std::string circuit_through(const NodeStatus& status, const std::string& relay) {
  for (const auto& a : status.addresses)
    if (a.find("/p2p/" + relay + "/p2p-circuit") != std::string::npos) return a;
  return {};
}

// An agent that listens nowhere, meets others through `server` and reserves on `relays`, whose
// health it probes every 200 ms.
NodeOptions nats_agent(NatsServer& server, const std::string& name, std::vector<std::string> relays) {
  auto options = p2p_agent(name, {});
  options.use_nats = true;
  options.nats_urls = {server.url()};
  options.discovery_window = 200ms;
  options.relays = std::move(relays);
  options.relay_health_interval = 200ms;
  return options;
}

class RelayFailoverTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

TEST_F(RelayFailoverTest, ReservationMovesToTheBackupAndBackToThePrimary) {
  RestartableRelay primary(io), backup(io);
  auto options = p2p_agent("bob", {});
  options.relays = {primary.addr(), backup.addr()};
  options.relay_reservations = 1;
  options.relay_health_interval = 200ms;
  StarGateNode b(io.get_executor(), options);
  StarGateNode a(io.get_executor(), p2p_agent("alice", {}));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    CO_ASSERT_TRUE(co_await wait_until([&] { return has_circuit_through(b.get_status(), primary.id()); }, 10s));
    auto status = b.get_status();
    // One reservation, on the primary; the backup is only probed.
    EXPECT_FALSE(has_circuit_through(status, backup.id()));
    CO_ASSERT_TRUE(status.relays.size() == 2u);
    EXPECT_EQ(status.relays[0].relay, primary.id());
    EXPECT_TRUE(status.relays[0].reserving);
    EXPECT_FALSE(status.relays[1].reserving);
    json::value params = json::object{{"n", 1}};
    auto result = co_await a.call(circuit_through(status, primary.id()), "echo", params);
    EXPECT_EQ(result.at("echo").at("n").as_int64(), 1);

    primary.kill();
    CO_ASSERT_TRUE(co_await wait_until([&] {
      auto s = b.get_status();
      const auto* p = relay_in(s, primary.id());
      return p && p->health == "unhealthy" && has_circuit_through(s, backup.id()) && !has_circuit_through(s, primary.id());
    }, 10s));
    status = b.get_status();
    EXPECT_FALSE(relay_in(status, primary.id())->reserving);
    EXPECT_TRUE(relay_in(status, backup.id())->reserving);
    EXPECT_EQ(relay_in(status, backup.id())->health, "healthy");
    EXPECT_FALSE(relay_in(status, primary.id())->last_error.empty());
    params = json::object{{"n", 2}};
    result = co_await a.call(circuit_through(status, backup.id()), "echo", params);
    EXPECT_EQ(result.at("echo").at("n").as_int64(), 2);

    // The primary returns: the reservation goes back to it and the backup's is let go.
    primary.restart();
    CO_ASSERT_TRUE(co_await wait_until([&] {
      auto s = b.get_status();
      return has_circuit_through(s, primary.id()) && !has_circuit_through(s, backup.id());
    }, 10s));
    status = b.get_status();
    EXPECT_EQ(relay_in(status, primary.id())->health, "healthy");
    EXPECT_EQ(relay_in(status, primary.id())->became_unhealthy, 1u);
    params = json::object{{"n", 3}};
    result = co_await a.call(circuit_through(status, primary.id()), "echo", params);
    EXPECT_EQ(result.at("echo").at("n").as_int64(), 3);
    const auto metrics = b.get_metrics();
    EXPECT_NE(metrics.find("stargate_relay_health{relay=\"" + primary.id() + "\",state=\"healthy\"} 1"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("stargate_relay_health_changes_total{relay=\"" + primary.id() + "\",to=\"unhealthy\"} 1"),
              std::string::npos)
        << metrics;
    co_await a.stop();
    co_await b.stop();
  });
}

// Every relay down: the agent holds no reservation, announces no circuit, and calls to it go
// through the broker; with the relay back, they go through the relay again.
TEST_F(RelayFailoverTest, EveryRelayDownFallsBackToNatsAndBack) {
  auto server = NatsServer::start();
  RestartableRelay relay(io);
  auto with_nats = [&](const std::string& name, std::vector<std::string> relays) {
    return nats_agent(server, name, std::move(relays));
  };
  StarGateNode b(io.get_executor(), with_nats("bob", {relay.addr()}));
  StarGateNode a(io.get_executor(), with_nats("alice", {relay.addr()}));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    CO_ASSERT_TRUE(co_await wait_until([&] { return has_circuit_through(b.get_status(), relay.id()); }, 10s));
    auto peers = co_await a.discover();
    json::value params = json::object{{"n", 1}};
    co_await a.call("bob", "echo", params);
    EXPECT_EQ(a.get_status().calls_ok_relayed, 1u);

    relay.kill();
    CO_ASSERT_TRUE(co_await wait_until([&] {
      const auto s = a.get_status();
      const auto* r = relay_in(s, relay.id());
      return r && r->health == "unhealthy" && b.get_status().addresses.empty();
    }, 10s));
    for (int n = 2; n <= 4; ++n) {
      params = json::object{{"n", n}};
      auto result = co_await a.call("bob", "echo", params);
      EXPECT_EQ(result.at("echo").at("n").as_int64(), n);
    }
    EXPECT_EQ(a.get_status().calls_ok_nats, 3u);

    relay.restart();
    CO_ASSERT_TRUE(co_await wait_until([&] { return has_circuit_through(b.get_status(), relay.id()); }, 10s));
    // Bob re-announced his circuit: once alice has it, her next call takes the relay again. Asked
    // until a deadline, not a number of times (each discover takes its 200 ms window, or less).
    bool announced = false;
    for (const auto give_up = std::chrono::steady_clock::now() + 30s; !announced && std::chrono::steady_clock::now() < give_up;) {
      for (const auto& peer : co_await a.discover())
        for (const auto& addr : peer.addresses) announced = announced || addr.find("/p2p-circuit") != std::string::npos;
    }
    CO_ASSERT_TRUE(announced);
    params = json::object{{"n", 10}};
    co_await a.call("bob", "echo", params);
    const bool relayed_again = a.get_status().calls_ok_relayed == 2u;
    EXPECT_TRUE(relayed_again);
    co_await a.stop();
    co_await b.stop();
  });
}

// A relay with go-libp2p's default 128 KiB circuit limit comes first in bob's list; a call of
// 300 kB passes it over for the relay without limits instead of dying midway.
TEST_F(RelayFailoverTest, ACallLargerThanARelaysLimitTakesARelayThatAllowsIt) {
  auto server = NatsServer::start();
  RestartableRelay small(io, p2p::relay::RelayLimits::public_relay()), roomy(io);
  auto with_nats = [&](const std::string& name, std::vector<std::string> relays) {
    return nats_agent(server, name, std::move(relays));
  };
  StarGateNode b(io.get_executor(), with_nats("bob", {small.addr(), roomy.addr()}));
  StarGateNode a(io.get_executor(), with_nats("alice", {}));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    CO_ASSERT_TRUE(co_await wait_until([&] {
      auto s = b.get_status();
      return has_circuit_through(s, small.id()) && has_circuit_through(s, roomy.id());
    }, 10s));
    co_await a.discover();
    // A small call first: it takes the first relay.
    json::value params = json::object{{"n", 1}};
    CallOptions via_relay;
    via_relay.via = Via::relay;
    co_await a.call("bob", "echo", params, via_relay);
    EXPECT_EQ(small.service->counters().circuits_opened, 1u);
    params = json::object{{"blob", std::string(300'000, 'x')}};
    auto result = co_await a.call("bob", "echo", params, via_relay);
    EXPECT_EQ(result.at("echo").at("blob").as_string().size(), 300'000u);
    EXPECT_EQ(roomy.service->counters().circuits_opened, 1u);
    EXPECT_EQ(a.get_status().calls_ok_relayed, 2u);
    co_await a.stop();
    co_await b.stop();
  });
}

// The order of NodeOptions::transports is the cascade's: with NATS first, a call to a peer that
// announced a libp2p address still goes through the broker; when no tier can deliver (the
// callee crashed), the error names each tier's failure.
TEST_F(RelayFailoverTest, TransportsOrderTheCascadeAndEveryFailureIsReported) {
  auto server = NatsServer::start();
  auto options_a = nats_agent(server, "alice", {});
  options_a.transports = {Transport::nats, Transport::libp2p};
  auto options_b = nats_agent(server, "bob", {});
  options_b.listen_addrs = {"/ip4/127.0.0.1/tcp/0"};
  StarGateNode a(io.get_executor(), options_a);
  auto b = std::make_unique<StarGateNode>(io.get_executor(), options_b);
  b->handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b->start();
    auto peers = co_await a.discover();
    CO_ASSERT_TRUE(peers.size() == 1u && !peers[0].addresses.empty());
    json::value params = json::object{{"n", 1}};
    co_await a.call("bob", "echo", params);
    EXPECT_EQ(a.get_status().calls_ok_nats, 1u);
    EXPECT_EQ(a.get_status().calls_ok_libp2p, 0u);
    // Bob vanishes without a goodbye (a crash): both tiers fail, and the error says why for each.
    b.reset();
    std::optional<CallError> error;
    try {
      CallOptions quick;
      quick.timeout = 1500ms;
      co_await a.call("bob", "echo", params, quick);
    } catch (const CallError& e) {
      error = e;
    }
    CO_ASSERT_TRUE(error.has_value());
    const auto& attempts = error->data().at("attempts").as_array();
    CO_ASSERT_TRUE(attempts.size() == 2u);
    EXPECT_EQ(attempts[0].at("tier").as_string(), "nats");
    EXPECT_EQ(attempts[1].at("tier").as_string(), "libp2p");
    EXPECT_NE(std::string(error->what()).find("nats:"), std::string::npos) << error->what();
    co_await a.stop();
  });
}

}  // namespace
}  // namespace stargate
