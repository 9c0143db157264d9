// Circuit Relay v2 against js-libp2p (@libp2p/circuit-relay-v2), both ways round: a js peer
// reserves on a Stargate relay and a Stargate host reaches it through the relay; a Stargate host
// reserves on a js relay and both a Stargate host and a js peer reach it through that relay.
// Loopback only: the same parts behind real NATs are in tests/natlab/.
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "integration/host_test_support.hpp"
#include "interop/js_process.hpp"

namespace stargate::p2p::relay {
namespace {

using namespace std::chrono_literals;
using namespace stargate::testing;

class RelayWithJs : public JsInteropTest {};

std::optional<Multiaddr> first_starting_with(const std::vector<std::string>& addrs, const std::string& prefix) {
  for (const auto& text : addrs) {
    if (text.rfind(prefix, 0) == 0) {
      if (auto addr = Multiaddr::parse(text)) return *addr;
    }
  }
  return std::nullopt;
}

TEST_F(RelayWithJs, JsPeerReservesOnStargateRelayAndIsReachedThroughIt) {
  TestNode relay(io_);
  auto service = RelayService::enable(relay.host);
  TestNode a(io_, {}, std::nullopt, "");
  auto a_client = RelayClient::enable(a.host);
  JsPeer js({"listen", "--ignore-stdin", "--relay", relay.full_addr().to_string()});
  // The js peer starts listening only once its reservation is made, which needs our event loop.
  std::optional<Multiaddr> circuit;
  run_with_timeout(io_, [&]() -> awaitable<void> {
    bool started = co_await wait_until([&] { return js.wait_event("listening", 0ms).has_value(); }, 30s);
    CO_ASSERT_TRUE(started);
    const std::string js_id = json_string(*js.wait_event("listening", 0ms), "peer_id");
    bool reserved = co_await wait_until([&] { return js.wait_event("reserved", 0ms).has_value(); }, 30s);
    CO_ASSERT_TRUE(reserved);
    auto event = js.wait_event("reserved", 0ms);
    circuit = first_starting_with(json_strings(*event, "addrs"), relay.full_addr().to_string() + "/p2p-circuit");
    CO_ASSERT_TRUE(circuit.has_value());
    EXPECT_EQ(service->reservation_count(), 1u);

    auto connection = co_await a.host.connect(*circuit);
    EXPECT_TRUE(connection->info().relayed);
    EXPECT_EQ(connection->info().remote_peer.to_string(), js_id);
    auto payload = pseudo_random(50'000, 11);
    auto echoed = co_await echo_round_trip(a.host, connection, payload);
    EXPECT_EQ(echoed, payload);
    EXPECT_EQ(service->counters().circuits_opened, 1u);
    EXPECT_GT(service->counters().bytes_relayed, 100'000u);
  });
  EXPECT_TRUE(js.running());
}

TEST_F(RelayWithJs, StargateReservesOnJsRelayAndIsReachedThroughIt) {
  JsPeer js_relay({"relay-server", "--ignore-stdin"});
  auto listening = js_relay.wait_event("listening", 30s);
  ASSERT_TRUE(listening);
  const std::string relay_id = json_string(*listening, "peer_id");
  auto relay_addrs = json_strings(*listening, "addrs");
  ASSERT_FALSE(relay_addrs.empty());
  std::string relay_text = relay_addrs.front();
  if (relay_text.find("/p2p/") == std::string::npos) relay_text += "/p2p/" + relay_id;
  const Multiaddr relay_addr = Multiaddr::parse(relay_text).value();

  TestNode b(io_, {}, std::nullopt, "");
  auto b_client = RelayClient::enable(b.host);
  TestNode a(io_, {}, std::nullopt, "");
  auto a_client = RelayClient::enable(a.host);
  const Multiaddr circuit =
      relay_addr.encapsulate(Multiaddr::parse("/p2p-circuit/p2p/" + b.host.peer_id().to_string()).value());
  std::unique_ptr<JsPeer> js_dialer;
  run_with_timeout(io_, [&]() -> awaitable<void> {
    b_client->add_relay(relay_addr);
    co_await b_client->wait_reserved(1, 20s);
    auto reservations = b_client->reservations();
    CO_ASSERT_TRUE(reservations.size() == 1);
    EXPECT_GT(reservations[0].expiry, std::chrono::system_clock::now());
    EXPECT_FALSE(reservations[0].circuit_addrs.empty());
    std::string b_id = b.host.peer_id().to_string();
    EXPECT_TRUE(js_relay.wait_event("relay:reservation", 5s, [&](const boost::json::object& o) {
      return json_string(o, "peer_id") == b_id;
    }));

    // A Stargate host reaches B through the js relay.
    auto connection = co_await a.host.connect(circuit);
    EXPECT_TRUE(connection->info().relayed);
    auto payload = pseudo_random(50'000, 12);
    EXPECT_EQ(co_await echo_round_trip(a.host, connection, payload), payload);

    // So does a js peer.
    js_dialer = std::make_unique<JsPeer>(
        std::vector<std::string>{"dial", circuit.to_string(), "--echo-bytes", "50000", "--ping", "2"});
    bool finished = co_await wait_until([&] { return js_dialer->wait_event("result", 0ms).has_value(); }, 60s);
    CO_ASSERT_TRUE(finished);
    auto result = js_dialer->wait_event("result", 0ms);
    EXPECT_TRUE(result->at("ok").as_bool()) << boost::json::serialize(*result);
    EXPECT_GE(b_client->counters().circuits_accepted, 2u);
  });
  EXPECT_TRUE(js_relay.running());
}

}  // namespace
}  // namespace stargate::p2p::relay
