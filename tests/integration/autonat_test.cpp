// AutoNAT v1 between C++ hosts on loopback, with 127.0.0.0/8 treated as public: a listening node is
// found public by its peers' dial-backs, a node that cannot be reached is found private, and the
// server dials only the requester's own IP, never over a relayed connection, always on a fresh
// connection from an ephemeral port, and within its rate limits. NAT classification from identify
// observations ends "public" for nodes that see their own addresses observed.
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/autonat/autonat_io.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "p2p/tcp/tcp_address.hpp"
#include "autonat_test_support.hpp"
#include "host_test_support.hpp"

namespace stargate::p2p::autonat {
namespace {

using namespace std::chrono_literals;
using stargate::testing::run_with_timeout;
using stargate::testing::TestNode;
using stargate::testing::wait_until;

AutonatOptions test_options(bool probe) { return stargate::testing::fast_autonat_options(probe); }

struct AutonatNode {
  AutonatNode(boost::asio::io_context& io, AutonatOptions options, const std::string& listen = "/ip4/127.0.0.1/tcp/0")
      : node(io, {}, std::nullopt, listen), service(ReachabilityService::enable(node.host, *node.identify, options)) {}
  ~AutonatNode() { service->close(); }
  Host& host() { return node.host; }
  TestNode node;
  std::shared_ptr<ReachabilityService> service;
};

// Sends one DIAL on a new stream of `connection` and returns the answer.
awaitable<DialResponse> ask(Host& host, std::shared_ptr<MuxedConnection> connection, DialRequest request) {
  std::vector<std::string> protocols{std::string(kProtocol)};
  auto stream = co_await host.open_stream(connection, protocols);
  auto body = encode(request);
  co_await write_length_prefixed(*stream, body);
  auto answer = co_await read_length_prefixed(*stream, kMaxMessageSize);
  co_return decode_dial_response(answer).value();
}

std::uint16_t closed_port(boost::asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();  // closed again when `acceptor` goes
}

std::size_t refused(const ReachabilityService& s, RefusalReason reason) {
  return s.server_counters().refused[static_cast<std::size_t>(reason)];
}

struct AutonatTest : ::testing::Test {
  boost::asio::io_context io;
};

TEST_F(AutonatTest, ListeningNodeIsFoundPublic) {
  AutonatNode s1(io, test_options(false)), s2(io, test_options(false)), s3(io, test_options(false));
  AutonatNode client(io, test_options(true));
  int changes = 0;
  client.service->on_change([&] { ++changes; });
  run_with_timeout(io, [&]() -> awaitable<void> {
    EXPECT_EQ(client.service->reachability(), Reachability::unknown);
    for (auto* s : {&s1, &s2, &s3}) co_await client.host().connect(s->node.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.service->reachability() == Reachability::public_; }, 20s));
    EXPECT_GE(client.service->client_counters().answered[status_index(Status::ok)], 3u);
    EXPECT_EQ(client.service->client_counters().answered[status_index(Status::dial_error)], 0u);
    EXPECT_GE(changes, 1);
    std::uint64_t served = 0;
    for (auto* s : {&s1, &s2, &s3}) served += s->service->server_counters().dial_backs_ok;
    EXPECT_GE(served, 3u);
  });
}

TEST_F(AutonatTest, NodeThatDoesNotListenIsFoundPrivate) {
  AutonatNode s1(io, test_options(false)), s2(io, test_options(false)), s3(io, test_options(false));
  AutonatNode client(io, test_options(true), "");
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto* s : {&s1, &s2, &s3}) co_await client.host().connect(s->node.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.service->reachability() == Reachability::private_; }, 20s));
    EXPECT_GE(client.service->client_counters().answered[status_index(Status::dial_error)], 3u);
    EXPECT_EQ(client.service->client_counters().answered[status_index(Status::ok)], 0u);
  });
}

TEST_F(AutonatTest, NodeAdvertisingAClosedPortIsFoundPrivateThenPublicWhenItListens) {
  AutonatNode s1(io, test_options(false)), s2(io, test_options(false)), s3(io, test_options(false));
  AutonatNode client(io, test_options(true), "");
  const auto closed = Multiaddr::parse("/ip4/127.0.0.1/tcp/" + std::to_string(closed_port(io))).value();
  client.host().set_external_addrs("announce", {closed});
  run_with_timeout(io, [&]() -> awaitable<void> {
    EXPECT_EQ(client.service->probe_addrs(), std::vector<Multiaddr>{closed});
    for (auto* s : {&s1, &s2, &s3}) co_await client.host().connect(s->node.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.service->reachability() == Reachability::private_; }, 20s));
    // Now it listens and says so: the changed addresses are probed again, and the verdict turns.
    auto bound = client.host().listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
    client.host().set_external_addrs("announce", {bound});
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.service->reachability() == Reachability::public_; }, 20s));
  });
}

TEST_F(AutonatTest, ServerDialsOnlyTheRequestersIp) {
  AutonatNode server(io, test_options(false));
  AutonatNode client(io, test_options(false));
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await client.host().connect(server.node.full_addr());
    // Another IP (127.0.0.2 is also loopback, and treated as public): refused without a dial.
    auto elsewhere = Multiaddr::parse("/ip4/127.0.0.2/tcp/" + std::to_string(*tcp_port_of(client.node.addr))).value();
    DialRequest request{client.host().peer_id(), {elsewhere}};
    auto answer = co_await ask(client.host(), connection, request);
    EXPECT_EQ(answer.status, Status::dial_refused) << answer.status_text;
    EXPECT_EQ(refused(*server.service, RefusalReason::no_dialable_addr), 1u);
    // A request in someone else's name is a bad request.
    DialRequest impostor{server.host().peer_id(), {client.node.addr}};
    EXPECT_EQ((co_await ask(client.host(), connection, impostor)).status, Status::bad_request);
    const auto& counters = server.service->server_counters();
    EXPECT_EQ(counters.dial_backs_ok + counters.dial_backs_failed, 0u);
    // Its own address is dialed, and the answer names it.
    DialRequest own{client.host().peer_id(), {elsewhere, client.node.addr}};
    auto ok = co_await ask(client.host(), connection, own);
    EXPECT_EQ(ok.status, Status::ok) << ok.status_text;
    EXPECT_EQ(ok.addr, client.node.addr);
  });
}

TEST_F(AutonatTest, DialBackUsesAFreshConnectionFromAnEphemeralPort) {
  AutonatNode server(io, test_options(false));
  AutonatNode client(io, test_options(false));
  std::vector<ConnectionInfo> inbound_at_client;
  client.host().on_connection([&](const std::shared_ptr<MuxedConnection>& c) {
    if (!c->info().outbound) inbound_at_client.push_back(c->info());
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto pooled = co_await client.host().connect(server.node.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return server.host().find_connection(client.host().peer_id()) != nullptr; }, 5s));
    auto pooled_at_server = server.host().find_connection(client.host().peer_id());
    auto answer = co_await client.service->probe(pooled);
    EXPECT_EQ(answer.status, Status::ok) << answer.status_text;
    EXPECT_EQ(answer.addr, client.node.addr);
    // The client was dialed: an inbound connection from the server's peer, not the pooled one,
    // from a port that is not the server's listen port.
    CO_ASSERT_TRUE(co_await wait_until([&] { return !inbound_at_client.empty(); }, 5s));
    EXPECT_EQ(inbound_at_client.size(), 1u);
    EXPECT_EQ(inbound_at_client[0].remote_peer, server.host().peer_id());
    EXPECT_NE(inbound_at_client[0].remote_addr, pooled->info().remote_addr);
    EXPECT_NE(tcp_port_of(inbound_at_client[0].remote_addr), tcp_port_of(server.node.addr));
    // The server did not register the probe connection, and its pooled connection is the same.
    std::size_t at_server = 0;
    for (const auto& c : server.host().connections()) at_server += c->info().remote_peer == client.host().peer_id();
    EXPECT_EQ(at_server, 1u);
    EXPECT_EQ(server.host().find_connection(client.host().peer_id()), pooled_at_server);
    EXPECT_FALSE(pooled->is_closed());
    // The probe connection is closed by the server once the handshake is done.
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.host().connections().size() == 1; }, 5s));
    EXPECT_EQ(server.service->server_counters().dial_backs_ok, 1u);
    EXPECT_EQ(client.service->client_counters().probes_sent, 1u);
  });
}

TEST_F(AutonatTest, ServerRateLimitsHold) {
  auto options = test_options(false);
  options.server_limits.per_peer = 2;
  options.server_limits.global = 3;
  AutonatNode server(io, options);
  AutonatNode a(io, test_options(false)), b(io, test_options(false));
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto from_a = co_await a.host().connect(server.node.full_addr());
    auto from_b = co_await b.host().connect(server.node.full_addr());
    DialRequest request_a{a.host().peer_id(), {a.node.addr}};
    DialRequest request_b{b.host().peer_id(), {b.node.addr}};
    EXPECT_EQ((co_await ask(a.host(), from_a, request_a)).status, Status::ok);
    EXPECT_EQ((co_await ask(a.host(), from_a, request_a)).status, Status::ok);
    EXPECT_EQ((co_await ask(a.host(), from_a, request_a)).status, Status::dial_refused);  // per peer
    EXPECT_EQ((co_await ask(b.host(), from_b, request_b)).status, Status::ok);
    EXPECT_EQ((co_await ask(b.host(), from_b, request_b)).status, Status::dial_refused);  // overall
    EXPECT_EQ(refused(*server.service, RefusalReason::rate_limited), 2u);
    EXPECT_EQ(server.service->server_counters().dial_backs_ok, 3u);
  });
}

TEST_F(AutonatTest, RequestsOverRelayedConnectionsAreRefused) {
  TestNode relay(io);
  auto relay_service = relay::RelayService::enable(relay.host);
  AutonatNode server(io, test_options(false), "");
  AutonatNode client(io, test_options(false), "");
  auto server_relay = relay::RelayClient::enable(server.host());
  auto client_relay = relay::RelayClient::enable(client.host());
  run_with_timeout(io, [&]() -> awaitable<void> {
    server_relay->add_relay(relay.full_addr());
    co_await server_relay->wait_reserved(1, 10s);
    auto circuit = relay.full_addr().encapsulate(
        Multiaddr::parse("/p2p-circuit/p2p/" + server.host().peer_id().to_string()).value());
    auto connection = co_await client.host().connect(circuit);
    CO_ASSERT_TRUE(connection->info().relayed);
    DialRequest request{client.host().peer_id(), {}};
    auto answer = co_await ask(client.host(), connection, request);
    EXPECT_EQ(answer.status, Status::dial_refused) << answer.status_text;
    EXPECT_EQ(refused(*server.service, RefusalReason::relayed), 1u);
    // The client's own rounds never ask over a relayed connection.
    EXPECT_EQ(client.service->client_counters().probes_sent, 0u);
  });
  server_relay->close();
  client_relay->close();
  relay_service->close();
}

TEST_F(AutonatTest, ObservedAddressesClassifyAnUntranslatedNodeAsPublic) {
  // Observers at distinct IPs (127.0.0.2 and .3 are loopback too); the client dials them from
  // ephemeral ports and they observe exactly the client's end of each connection.
  AutonatNode o1(io, test_options(false), "/ip4/127.0.0.2/tcp/0"), o2(io, test_options(false), "/ip4/127.0.0.3/tcp/0");
  AutonatNode client(io, test_options(false));
  run_with_timeout(io, [&]() -> awaitable<void> {
    EXPECT_EQ(client.service->nat_kind(), NatKind::unknown);
    co_await client.host().connect(o1.node.full_addr());
    co_await client.node.identify->wait_identified(o1.host().peer_id(), 5s);
    EXPECT_EQ(client.service->nat_kind(), NatKind::unknown);  // one observer is not enough
    co_await client.host().connect(o2.node.full_addr());
    CO_ASSERT_TRUE(co_await wait_until([&] { return client.service->nat_kind() == NatKind::public_; }, 5s));
  });
}

}  // namespace
}  // namespace stargate::p2p::autonat
