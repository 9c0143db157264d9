// Circuit Relay v2 between C++ hosts on loopback: reservations, circuits carrying a connection
// (Noise and Yamux inside the relayed stream), the limits that close circuits on both ends, and
// refusals of bad or unwanted requests while the relay keeps serving. The same parts behind real
// NATs are in tests/natlab/.
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/relay/messages_io.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "host_test_support.hpp"

namespace stargate::p2p::relay {
namespace {

using namespace std::chrono_literals;
using stargate::testing::echo_round_trip;
using stargate::testing::pseudo_random;
using stargate::testing::run_with_timeout;
using stargate::testing::TestNode;
using stargate::testing::wait_until;

Multiaddr circuit_to(const TestNode& relay, const crypto::PeerId& destination) {
  return relay.full_addr().encapsulate(Multiaddr::parse("/p2p-circuit/p2p/" + destination.to_string()).value());
}

struct RelayTest : ::testing::Test {
  boost::asio::io_context io;
};

// A (no listener) reaches B (no listener) only through R.
struct Trio {
  explicit Trio(boost::asio::io_context& io, RelayLimits limits = {}, HostConfig relay_config = {})
      : relay(io, std::move(relay_config)), a(io, {}, std::nullopt, ""), b(io, {}, std::nullopt, "") {
    RelayServiceOptions options;
    options.limits = limits;
    service = RelayService::enable(relay.host, options);
    a_client = RelayClient::enable(a.host);
    b_client = RelayClient::enable(b.host);
  }
  TestNode relay, a, b;
  std::shared_ptr<RelayService> service;
  std::shared_ptr<RelayClient> a_client, b_client;
};

TEST_F(RelayTest, ReservedPeerIsReachedThroughTheRelay) {
  Trio t(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    t.b_client->add_relay(t.relay.full_addr());
    co_await t.b_client->wait_reserved(1, 10s);
    auto reservations = t.b_client->reservations();
    CO_ASSERT_TRUE(reservations.size() == 1 && reservations[0].active);
    EXPECT_GT(reservations[0].expiry, std::chrono::system_clock::now() + 59min);
    // Go-libp2p's defaults: 2 minutes and 128 KiB per circuit.
    CO_ASSERT_TRUE(reservations[0].limit.has_value());
    EXPECT_EQ(reservations[0].limit->duration_s, 120u);
    EXPECT_EQ(reservations[0].limit->data_bytes, 128u * 1024);
    // B now advertises how to reach it through R.
    auto expected = t.relay.full_addr().encapsulate(Multiaddr::parse("/p2p-circuit").value());
    auto advertised = t.b.host.advertised_addrs();
    EXPECT_NE(std::find(advertised.begin(), advertised.end(), expected), advertised.end());
    EXPECT_EQ(t.service->reservation_count(), 1u);

    auto connection = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    EXPECT_TRUE(connection->info().relayed);
    EXPECT_EQ(connection->info().remote_peer, t.b.host.peer_id());
    EXPECT_EQ(connection->info().data_limit, 128u * 1024);
    auto payload = pseudo_random(60'000, 3);
    auto echoed = co_await echo_round_trip(t.a.host, connection, payload);
    EXPECT_EQ(echoed, payload);
    // B sees an inbound relayed connection authenticated as A, and can use it too.
    auto at_b = t.b.host.find_connection(t.a.host.peer_id());
    CO_ASSERT_TRUE(at_b != nullptr);
    EXPECT_TRUE(at_b->info().relayed);
    EXPECT_FALSE(at_b->info().outbound);
    auto small = pseudo_random(1000, 4);
    EXPECT_EQ(co_await echo_round_trip(t.b.host, at_b, small), small);
    EXPECT_EQ(t.service->counters().circuits_opened, 1u);
    EXPECT_EQ(t.b_client->counters().circuits_accepted, 1u);
    EXPECT_EQ(t.a_client->counters().circuits_dialed, 1u);
    // A second connect to B reuses the relayed connection rather than opening another circuit.
    auto again = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    EXPECT_EQ(again, connection);
    EXPECT_EQ(t.service->counters().circuits_opened, 1u);
  });
}

TEST_F(RelayTest, CircuitOverItsByteLimitIsClosedOnBothEnds) {
  RelayLimits limits;
  limits.circuit_bytes = 64 * 1024;
  Trio t(io, limits);
  run_with_timeout(io, [&]() -> awaitable<void> {
    t.b_client->add_relay(t.relay.full_addr());
    co_await t.b_client->wait_reserved(1, 10s);
    auto connection = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    auto payload = pseudo_random(1'000'000, 5);
    bool failed = false;
    try {
      co_await echo_round_trip(t.a.host, connection, payload);
    } catch (const std::exception&) {
      failed = true;
    }
    EXPECT_TRUE(failed) << "1 MB went through a circuit limited to 64 KiB";
    EXPECT_TRUE(co_await wait_until([&] { return connection->is_closed(); }, 5s));
    EXPECT_TRUE(co_await wait_until([&] { return t.b.host.find_connection(t.a.host.peer_id()) == nullptr; }, 5s))
        << "B still holds the relayed connection";
    EXPECT_TRUE(co_await wait_until([&] { return t.service->circuit_count() == 0; }, 5s));
    EXPECT_LE(t.service->counters().bytes_relayed, 2u * 64 * 1024);
    // The reservation outlives the circuit: B is reachable again.
    auto fresh = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    auto small = pseudo_random(100, 6);
    EXPECT_EQ(co_await echo_round_trip(t.a.host, fresh, small), small);
  });
}

TEST_F(RelayTest, CircuitWithoutRoomForItsBuffersIsRefusedWithResourceLimitExceeded) {
  // The relay service's scope has room for one circuit's splice buffers.
  HostConfig relay_config;
  relay_config.limits.services["relay"] = ScopeLimits{kUnlimited, kUnlimited, kCircuitBufferBytes};
  Trio t(io, {}, relay_config);
  TestNode c(io, {}, std::nullopt, "");
  auto c_client = RelayClient::enable(c.host);
  run_with_timeout(io, [&]() -> awaitable<void> {
    t.b_client->add_relay(t.relay.full_addr());
    co_await t.b_client->wait_reserved(1, 10s);
    auto first = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    auto small = pseudo_random(100, 7);
    EXPECT_EQ(co_await echo_round_trip(t.a.host, first, small), small);
    std::string error;
    try {
      co_await c.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("RESOURCE_LIMIT_EXCEEDED"), std::string::npos) << error;
    EXPECT_EQ(t.service->counters().refusals_for(RefusalReason::node_resources), 1u);
    EXPECT_EQ(t.relay.host.resource_usage().refusals["service memory"], 1u);
    // The first circuit ends: its buffers' memory comes back and the next circuit opens.
    first->close();
    EXPECT_TRUE(co_await wait_until([&] { return t.service->circuit_count() == 0; }, 5s));
    EXPECT_EQ(t.relay.host.resources().memory(), 0u);
    auto second = co_await c.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    EXPECT_EQ(co_await echo_round_trip(c.host, second, small), small);
  });
}

TEST_F(RelayTest, CircuitOverItsDurationIsClosedOnBothEnds) {
  RelayLimits limits;
  limits.circuit_duration = 1s;
  Trio t(io, limits);
  run_with_timeout(io, [&]() -> awaitable<void> {
    t.b_client->add_relay(t.relay.full_addr());
    co_await t.b_client->wait_reserved(1, 10s);
    auto connection = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    EXPECT_EQ(connection->info().duration_limit, 1s);
    co_await connection->wait_closed();
    EXPECT_TRUE(co_await wait_until([&] { return t.b.host.find_connection(t.a.host.peer_id()) == nullptr; }, 5s));
    EXPECT_EQ(t.service->counters().circuits_timed_out, 1u);
  });
}

TEST_F(RelayTest, CircuitToAPeerWithoutReservationIsRefused) {
  Trio t(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    std::string error;
    try {
      co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("NO_RESERVATION"), std::string::npos) << error;
    EXPECT_EQ(t.service->counters().refusals_for(RefusalReason::no_reservation), 1u);
    EXPECT_EQ(t.a_client->counters().circuit_dials_failed, 1u);
  });
}

TEST_F(RelayTest, ReservationLimitsRefuseWithReservationRefused) {
  RelayLimits limits;
  limits.max_reservations = 1;
  Trio t(io, limits);
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await t.b_client->reserve(t.relay.full_addr());
    std::string error;
    try {
      co_await t.a_client->reserve(t.relay.full_addr());
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("RESERVATION_REFUSED"), std::string::npos) << error;
    EXPECT_EQ(t.service->counters().refusals_for(RefusalReason::too_many_reservations), 1u);
    // A refresh from the holder still works at the limit.
    auto renewed = co_await t.b_client->reserve(t.relay.full_addr());
    EXPECT_TRUE(renewed.active);
  });
}

TEST_F(RelayTest, MalformedAndUnexpectedHopMessagesAreAnsweredAndTheRelayKeepsServing) {
  Trio t(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await t.a.host.connect(t.relay.full_addr());
    std::vector<std::string> hop{std::string(kHopProtocol)};
    {
      auto stream = co_await t.a.host.open_stream(connection, hop);
      Bytes garbage{0x08, 0x07, 0xff, 0xff};  // type 7: no such type
      co_await write_length_prefixed(*stream, garbage);
      auto answer = co_await read_hop(*stream);
      EXPECT_EQ(answer.status, Status::malformed_message);
    }
    {
      auto stream = co_await t.a.host.open_stream(connection, hop);
      co_await write_message(*stream, hop_status(Status::ok));  // a client does not send STATUS
      auto answer = co_await read_hop(*stream);
      EXPECT_EQ(answer.status, Status::unexpected_message);
    }
    {
      // A frame over the 4 KiB bound: the relay drops the stream without reading it all.
      auto stream = co_await t.a.host.open_stream(connection, hop);
      Bytes huge(10'000, 0x08);
      co_await write_length_prefixed(*stream, huge);
      bool failed = false;
      try {
        co_await read_hop(*stream);
      } catch (const std::exception&) {
        failed = true;
      }
      EXPECT_TRUE(failed);
    }
    EXPECT_EQ(t.service->counters().refusals_for(RefusalReason::malformed_message), 1u);
    EXPECT_EQ(t.service->counters().refusals_for(RefusalReason::unexpected_message), 1u);
    // And the relay still serves: B reserves, A reaches B.
    co_await t.b_client->reserve(t.relay.full_addr());
    auto relayed = co_await t.a.host.connect(circuit_to(t.relay, t.b.host.peer_id()));
    EXPECT_TRUE(relayed->info().relayed);
  });
}

TEST_F(RelayTest, StopFromARelayWeHoldNoReservationWithIsRefused) {
  Trio t(io);
  TestNode stranger(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    // B dials the stranger (so a connection exists), then the stranger pretends to be a relay.
    auto connection = co_await t.b.host.connect(stranger.full_addr());
    auto at_stranger = stranger.host.find_connection(t.b.host.peer_id());
    CO_ASSERT_TRUE(at_stranger != nullptr);
    std::vector<std::string> stop{std::string(kStopProtocol)};
    auto stream = co_await stranger.host.open_stream(at_stranger, stop);
    auto request = stop_connect(PeerInfo{t.a.host.peer_id(), {}}, std::nullopt);
    co_await write_message(*stream, request);
    auto answer = co_await read_stop(*stream);
    EXPECT_EQ(answer.status, Status::permission_denied);
    EXPECT_EQ(t.b_client->counters().circuits_refused, 1u);
    EXPECT_EQ(t.b.host.find_connection(t.a.host.peer_id()), nullptr);
  });
}

TEST_F(RelayTest, ReservationEndsWithTheConnectionAndIsMadeAgainAfterTheRelayRestarts) {
  auto relay_key_seed = crypto::Ed25519PrivateKey::generate().seed();
  auto relay_key = [&] { return crypto::Ed25519PrivateKey::from_seed(relay_key_seed).value(); };
  auto relay = std::make_unique<TestNode>(io, HostConfig{}, relay_key());
  auto service = RelayService::enable(relay->host);
  const Multiaddr relay_addr = relay->full_addr();
  const std::string listen = relay->addr.to_string();
  TestNode b(io, {}, std::nullopt, "");
  RelayClientOptions options;
  options.retry_initial = 50ms;
  options.retry_max = 200ms;
  auto client = RelayClient::enable(b.host, options);
  run_with_timeout(io, [&]() -> awaitable<void> {
    client->add_relay(relay_addr);
    co_await client->wait_reserved(1, 10s);
    EXPECT_EQ(service->reservation_count(), 1u);
    // The relay goes away: B withdraws its circuit address.
    relay->host.close();
    EXPECT_TRUE(co_await wait_until([&] { return client->circuit_addrs().empty(); }, 5s));
    EXPECT_TRUE(co_await wait_until([&] { return service->reservation_count() == 0; }, 5s));
    service.reset();
    relay.reset();
    // It comes back on the same address with the same identity: B reserves again on its own.
    relay = std::make_unique<TestNode>(io, HostConfig{}, relay_key(), listen);
    service = RelayService::enable(relay->host);
    co_await client->wait_reserved(1, 10s);
    EXPECT_EQ(service->reservation_count(), 1u);
    EXPECT_FALSE(client->circuit_addrs().empty());
    EXPECT_GE(client->counters().reservations_failed, 0u);
  });
  client->close();
}

}  // namespace
}  // namespace stargate::p2p::relay
