// DCUtR between C++ hosts on loopback: a relayed connection is upgraded to a direct one by the
// synchronised dial from both listen ports, the relayed one is retired, and a peer that does not
// speak DCUtR keeps its relayed connection with the failure counted. Behind real NATs:
// tests/natlab/relay_lab_test.sh (scenario 3).
#include "p2p/protocols/dcutr/dcutr_io.hpp"
#include "p2p/protocols/dcutr/messages.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "host_test_support.hpp"

namespace stargate::p2p::dcutr {
namespace {

using namespace std::chrono_literals;
using namespace stargate::testing;

struct Peer {
  explicit Peer(boost::asio::io_context& io, bool with_dcutr = true, DcutrOptions options = {})
      : node(io), relay_client(relay::RelayClient::enable(node.host)) {
    if (with_dcutr) dcutr = DcutrService::enable(node.host, options);
  }
  TestNode node;
  std::shared_ptr<relay::RelayClient> relay_client;
  std::shared_ptr<DcutrService> dcutr;
};

Multiaddr circuit_to(const TestNode& relay, const crypto::PeerId& peer) {
  return relay.full_addr().encapsulate(Multiaddr::parse("/p2p-circuit/p2p/" + peer.to_string()).value());
}

bool direct_between(Host& host, const crypto::PeerId& peer) {
  auto connection = host.find_connection(peer);
  return connection && !connection->info().relayed;
}

struct DcutrTest : ::testing::Test {
  boost::asio::io_context io;
};

TEST_F(DcutrTest, RelayedConnectionIsUpgradedToDirectAndRetired) {
  TestNode relay(io);
  auto service = relay::RelayService::enable(relay.host);
  Peer a(io), b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    b.relay_client->add_relay(relay.full_addr());
    co_await b.relay_client->wait_reserved(1, 10s);
    auto relayed = co_await a.node.host.connect(circuit_to(relay, b.node.host.peer_id()));
    CO_ASSERT_TRUE(relayed->info().relayed);
    // B offers what the relay observed (its listen port: it dialed the relay from there).
    auto offered = b.dcutr->our_addrs();
    CO_ASSERT_FALSE(offered.empty());
    EXPECT_EQ(offered.front(), b.node.addr);

    bool upgraded = co_await wait_until([&] {
      return direct_between(a.node.host, b.node.host.peer_id()) && direct_between(b.node.host, a.node.host.peer_id());
    }, 15s);
    CO_ASSERT_TRUE(upgraded);
    auto dump = [](const char* who, const DcutrCounters& c) {
      std::cerr << who << ": attempts " << c.attempts << " successes " << c.successes;
      for (const auto& [reason, n] : c.failures) std::cerr << " " << reason << "=" << n;
      std::cerr << "\n";
    };
    dump("a", a.dcutr->counters());
    dump("b", b.dcutr->counters());
    EXPECT_TRUE(co_await wait_until(
        [&] { return b.dcutr->counters().successes == 1 && a.dcutr->counters().successes == 1; }, 10s));
    EXPECT_EQ(b.dcutr->counters().upgrades_started, 1u);
    // Both gave their places back: the next upgrade is not refused as one too many.
    EXPECT_TRUE(co_await wait_until([&] { return a.dcutr->in_progress() == 0 && b.dcutr->in_progress() == 0; }, 5s));
    // A was the client of the handshake: its side of the direct connection is outbound.
    auto direct = a.node.host.find_connection(b.node.host.peer_id());
    EXPECT_TRUE(direct->info().outbound);
    EXPECT_FALSE(b.node.host.find_connection(a.node.host.peer_id())->info().outbound);
    // The relayed connection is closed once idle, and traffic goes direct.
    EXPECT_TRUE(co_await wait_until([&] { return relayed->is_closed(); }, 10s));
    auto payload = pseudo_random(300'000, 21);  // more than a default circuit carries
    EXPECT_EQ(co_await echo_round_trip(a.node.host, direct, payload), payload);
  });
}

TEST_F(DcutrTest, PeerWithoutDcutrKeepsTheRelayedConnectionAndTheFailureIsCounted) {
  TestNode relay(io);
  auto service = relay::RelayService::enable(relay.host);
  Peer a(io, /*with_dcutr=*/false), b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    b.relay_client->add_relay(relay.full_addr());
    co_await b.relay_client->wait_reserved(1, 10s);
    auto relayed = co_await a.node.host.connect(circuit_to(relay, b.node.host.peer_id()));
    bool counted = co_await wait_until([&] { return b.dcutr->counters().upgrades_failed == 1; }, 15s);
    CO_ASSERT_TRUE(counted);
    EXPECT_EQ(b.dcutr->counters().failures.count("protocol_refused"), 1u);
    EXPECT_EQ(b.dcutr->counters().successes, 0u);
    EXPECT_FALSE(relayed->is_closed());
    auto payload = pseudo_random(10'000, 22);
    EXPECT_EQ(co_await echo_round_trip(a.node.host, relayed, payload), payload);
  });
}

TEST_F(DcutrTest, UpgradesBeyondTheConcurrencyBoundAreSkippedAndCounted) {
  TestNode relay(io);
  auto service = relay::RelayService::enable(relay.host);
  DcutrOptions none;
  none.max_concurrent = 0;
  Peer a(io), b(io, true, none);
  run_with_timeout(io, [&]() -> awaitable<void> {
    b.relay_client->add_relay(relay.full_addr());
    co_await b.relay_client->wait_reserved(1, 10s);
    auto relayed = co_await a.node.host.connect(circuit_to(relay, b.node.host.peer_id()));
    bool counted = co_await wait_until([&] { return b.dcutr->counters().failures.count("too_many_punches") == 1; }, 10s);
    CO_ASSERT_TRUE(counted);
    EXPECT_EQ(b.dcutr->counters().upgrades_started, 0u);
    EXPECT_TRUE(relayed->info().relayed);
    auto payload = pseudo_random(1000, 23);
    EXPECT_EQ(co_await echo_round_trip(a.node.host, relayed, payload), payload);
  });
}

TEST_F(DcutrTest, PunchToNobodyTimesOutAndAMalformedConnectIsCounted) {
  TestNode relay(io);
  auto service = relay::RelayService::enable(relay.host);
  Peer a(io), b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    // Nothing listens on port 1: the punch fails within its timeout, not later.
    auto start = Clock::now();
    std::string error;
    try {
      std::vector<Multiaddr> nowhere{Multiaddr::parse("/ip4/127.0.0.1/tcp/1").value()};
      co_await a.node.host.punch(b.node.host.peer_id(), nowhere, PunchRole::client, 2s);
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("hole punch"), std::string::npos) << error;
    EXPECT_LT(Clock::now() - start, 5s);

    // A relayed connection whose B sends garbage instead of CONNECT: A counts it and moves on.
    b.relay_client->add_relay(relay.full_addr());
    co_await b.relay_client->wait_reserved(1, 10s);
    // An outbound relayed connection from B to A does not start DCUtR on its own (A would).
    a.relay_client->add_relay(relay.full_addr());
    co_await a.relay_client->wait_reserved(1, 10s);
    auto relayed = co_await b.node.host.connect(circuit_to(relay, a.node.host.peer_id()));
    std::vector<std::string> protocols{std::string(kProtocol)};
    auto stream = co_await b.node.host.open_stream(relayed, protocols);
    Bytes garbage{0x03, 0x08, 0x07, 0x00};  // a 3-byte message of type 7
    co_await stream->write_all(garbage);
    bool counted = co_await wait_until([&] { return a.dcutr->counters().failures.count("malformed_message") == 1; }, 10s);
    EXPECT_TRUE(counted);
  });
}

}  // namespace
}  // namespace stargate::p2p::dcutr
