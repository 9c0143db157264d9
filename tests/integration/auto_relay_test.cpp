// AutoRelay: a node that AutoNAT finds private reserves on a relay among its connected peers on
// its own; a public node does not. Loopback with 127.0.0.0/8 treated as public.
#include "p2p/protocols/relay/auto_relay_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "autonat_test_support.hpp"
#include "host_test_support.hpp"

namespace stargate::p2p::relay {
namespace {

using namespace std::chrono_literals;
using namespace stargate::testing;


// A node with the AutoNAT server, optionally a relay too.
struct Server {
  Server(boost::asio::io_context& io, bool relay)
      : node(io), autonat(autonat::ReachabilityService::enable(node.host, *node.identify, fast_autonat_options(false))) {
    if (relay) service = RelayService::enable(node.host);
  }
  ~Server() { autonat->close(); }
  TestNode node;
  std::shared_ptr<autonat::ReachabilityService> autonat;
  std::shared_ptr<RelayService> service;
};

struct Client {
  Client(boost::asio::io_context& io, const std::string& listen)
      : node(io, {}, std::nullopt, listen),
        relay_client(RelayClient::enable(node.host)),
        autonat(autonat::ReachabilityService::enable(node.host, *node.identify, fast_autonat_options(true))),
        auto_relay(AutoRelay::enable(node.host, *node.identify, relay_client, autonat)) {}
  ~Client() {
    autonat->close();
    relay_client->close();
  }
  TestNode node;
  std::shared_ptr<RelayClient> relay_client;
  std::shared_ptr<autonat::ReachabilityService> autonat;
  std::shared_ptr<AutoRelay> auto_relay;
};

struct AutoRelayTest : ::testing::Test {
  boost::asio::io_context io;
};

TEST_F(AutoRelayTest, PrivateNodeReservesOnAConnectedRelayOnItsOwn) {
  Server relay(io, true), s2(io, false), s3(io, false);
  Client client(io, "");  // does not listen: private
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto* s : {&relay, &s2, &s3}) co_await client.node.host.connect(s->node.full_addr());
    bool is_private = co_await wait_until(
        [&] { return client.autonat->reachability() == autonat::Reachability::private_; }, 20s);
    CO_ASSERT_TRUE(is_private);
    co_await client.relay_client->wait_reserved(1, 10s);
    auto reservations = client.relay_client->reservations();
    CO_ASSERT_TRUE(reservations.size() == 1);  // only one of the three peers is a relay
    EXPECT_EQ(reservations[0].relay, relay.node.host.peer_id());
    EXPECT_EQ(client.auto_relay->chosen(), 1u);
    EXPECT_EQ(relay.service->reservation_count(), 1u);
    // The node now advertises a circuit address.
    auto advertised = client.node.host.advertised_addrs();
    EXPECT_TRUE(std::any_of(advertised.begin(), advertised.end(), [](const Multiaddr& a) { return a.is_circuit(); }));
  });
}

TEST_F(AutoRelayTest, PublicNodeDoesNotReserve) {
  Server relay(io, true), s2(io, false), s3(io, false);
  Client client(io, "/ip4/127.0.0.1/tcp/0");  // listens: public
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto* s : {&relay, &s2, &s3}) co_await client.node.host.connect(s->node.full_addr());
    bool is_public = co_await wait_until(
        [&] { return client.autonat->reachability() == autonat::Reachability::public_; }, 20s);
    CO_ASSERT_TRUE(is_public);
    client.auto_relay->check();
    EXPECT_TRUE(client.relay_client->reservations().empty());
    EXPECT_EQ(client.auto_relay->chosen(), 0u);
  });
}

}  // namespace
}  // namespace stargate::p2p::relay
