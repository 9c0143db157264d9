// The relay as a library part (agent::RelayNode), run in-process on loopback as a program other
// than the CLI would: peers reserve on it and reach each other through it, and what it reports
// (its service, its load line, /metrics over HTTP) shows what happened. Waits are bound to events
// (a reservation held, a connection gone) with deadlines generous enough for a loaded machine.
#include "agent/relay_node.hpp"
#include "p2p/protocols/autonat/messages.hpp"
#include "p2p/protocols/gossipsub/messages.hpp"
#include "p2p/protocols/relay/messages.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "host_test_support.hpp"
#include "http_test_support.hpp"

#include <algorithm>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;
using p2p::awaitable;
using stargate::testing::echo_round_trip;
using stargate::testing::pseudo_random;
using stargate::testing::run_with_timeout;
using stargate::testing::TestNode;
using stargate::testing::wait_until;
namespace http_client = stargate::testing::http_client;

// A relay with go-libp2p's public limits (`stargate relay start`'s defaults), on a free loopback port.
struct InProcessRelay {
  explicit InProcessRelay(boost::asio::io_context& io)
      : node(io.get_executor(), crypto::Ed25519PrivateKey::generate(), p2p::relay::RelayServiceOptions{}) {
    failures = node.listen({Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()});
    node.join_dht({});
    metrics_endpoint = node.serve_metrics("127.0.0.1:0");
  }
  Multiaddr full_addr() const {
    return node.host.listen_addrs().at(0).encapsulate(Multiaddr::parse("/p2p/" + node.host.peer_id().to_string()).value());
  }
  Multiaddr circuit_to(const crypto::PeerId& peer) const {
    return full_addr().encapsulate(Multiaddr::parse("/p2p-circuit/p2p/" + peer.to_string()).value());
  }
  RelayNode node;
  std::vector<std::string> failures;
  p2p::tcp::endpoint metrics_endpoint;
};

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

struct RelayNodeTest : ::testing::Test {
  boost::asio::io_context io;
};

TEST_F(RelayNodeTest, AssemblesTheRelayProtocols) {
  InProcessRelay relay(io);
  EXPECT_TRUE(relay.failures.empty());
  ASSERT_EQ(relay.node.host.listen_addrs().size(), 1u);
  EXPECT_NE(relay.metrics_endpoint.port(), 0);
  const auto protocols = relay.node.host.protocols();
  auto serves = [&](std::string_view id) { return std::find(protocols.begin(), protocols.end(), id) != protocols.end(); };
  EXPECT_TRUE(serves(p2p::relay::kHopProtocol));
  EXPECT_TRUE(serves(p2p::autonat::kProtocol));
  EXPECT_TRUE(serves(p2p::gossipsub::kMeshsubV11));
  EXPECT_TRUE(serves(p2p::kad::kDefaultProtocol));
  relay.node.close();
  relay.node.close();  // idempotent
}

TEST_F(RelayNodeTest, AReservationShowsInItsStatusAndMetrics) {
  InProcessRelay relay(io);
  TestNode peer(io, {}, std::nullopt, "");  // listens nowhere: reachable only through the relay
  auto client = p2p::relay::RelayClient::enable(peer.host);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto health = co_await http_client::get(relay.metrics_endpoint, "/healthz");
    EXPECT_EQ(health.status, 200u);
    auto before = co_await http_client::get(relay.metrics_endpoint, "/metrics");
    EXPECT_TRUE(contains(before.body, "\nstargate_relay_reservations 0\n")) << before.body;

    client->add_relay(relay.full_addr());
    co_await client->wait_reserved(1, 60s);
    EXPECT_EQ(relay.node.service->reservation_count(), 1u);
    EXPECT_TRUE(contains(relay.node.load_line(), "reservations=1 ")) << relay.node.load_line();
    auto after = co_await http_client::get(relay.metrics_endpoint, "/metrics");
    EXPECT_EQ(after.status, 200u);
    EXPECT_TRUE(contains(after.body, "\nstargate_relay_reservations 1\n")) << after.body;
    EXPECT_TRUE(contains(after.body, "\nstargate_relay_reservations_granted_total 1\n")) << after.body;

    // Closing drains: the peer loses its connection to the relay (Yamux GoAway, then the close).
    relay.node.close();
    const auto relay_id = relay.node.host.peer_id();
    EXPECT_TRUE(co_await wait_until([&] { return peer.host.find_connection(relay_id) == nullptr; }, 60s))
        << "the peer still holds its connection to the closed relay";
  }, 120s);
}

TEST_F(RelayNodeTest, ACircuitThroughItIsCountedInItsMetrics) {
  InProcessRelay relay(io);
  TestNode caller(io, {}, std::nullopt, ""), callee(io, {}, std::nullopt, "");
  auto caller_client = p2p::relay::RelayClient::enable(caller.host);
  auto callee_client = p2p::relay::RelayClient::enable(callee.host);
  run_with_timeout(io, [&]() -> awaitable<void> {
    callee_client->add_relay(relay.full_addr());
    co_await callee_client->wait_reserved(1, 60s);
    auto connection = co_await caller.host.connect(relay.circuit_to(callee.host.peer_id()));
    EXPECT_TRUE(connection->info().relayed);
    auto payload = pseudo_random(10'000, 7);
    EXPECT_EQ(co_await echo_round_trip(caller.host, connection, payload), payload);
    EXPECT_EQ(relay.node.service->counters().circuits_opened, 1u);
    EXPECT_GE(relay.node.service->counters().bytes_relayed, 2u * payload.size());
    auto scrape = co_await http_client::get(relay.metrics_endpoint, "/metrics");
    EXPECT_TRUE(contains(scrape.body, "\nstargate_relay_circuits_opened_total 1\n")) << scrape.body;
    EXPECT_TRUE(contains(scrape.body, "\nstargate_relay_circuits 1\n")) << scrape.body;
    relay.node.close();
  }, 120s);
}

}  // namespace
}  // namespace stargate::agent
