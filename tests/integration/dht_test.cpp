// The Kademlia DHT between real hosts on loopback: bootstrap, lookups, provider records, client
// mode, churn, and hostile requests.
#include "crypto/sha256.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/kad/kad_io.hpp"
#include "host_test_support.hpp"

namespace stargate::p2p::kad {
namespace {

using namespace std::chrono_literals;
using stargate::testing::run_with_timeout;
using stargate::testing::TestNode;
using stargate::testing::wait_until;

struct DhtNode {
  DhtNode(boost::asio::io_context& io, DhtMode mode, std::vector<Multiaddr> bootstrap, std::size_t disjoint_paths = 1)
      : node(io) {
    DhtOptions options;
    options.mode = mode;
    options.lookup.disjoint_paths = disjoint_paths;
    options.bootstrap = std::move(bootstrap);
    options.rpc_timeout = 2s;
    options.query_timeout = 10s;
    dht = Dht::enable(node.host, *node.identify, options);
  }
  void close() {
    dht->close();
    node.host.close();
  }
  TestNode node;
  std::shared_ptr<Dht> dht;
};

Bytes provider_key(std::string_view name) {
  auto digest = crypto::sha256(as_bytes(name));
  Bytes key{0x12, 0x20};
  key.insert(key.end(), digest.begin(), digest.end());
  return key;
}

// One request on a new stream; whether a well-formed answer came back (no: refused, reset, or
// the connection is gone).
awaitable<bool> ask(Host& host, std::shared_ptr<MuxedConnection> connection, Message request) {
  bool answered = false;
  try {
    std::vector<std::string> protocols{std::string(kDefaultProtocol)};
    auto stream = co_await host.open_stream(connection, protocols);
    co_await write_length_prefixed(*stream, encode(request));
    auto reply = co_await read_length_prefixed(*stream, kMaxMessageSize);
    answered = decode(reply).has_value();
  } catch (const std::exception&) {
    answered = false;
  }
  co_return answered;
}

// `n` server nodes; the first two are the others' bootstrap peers.
std::vector<std::unique_ptr<DhtNode>> network(boost::asio::io_context& io, std::size_t n, std::size_t disjoint_paths = 1) {
  std::vector<std::unique_ptr<DhtNode>> nodes;
  nodes.push_back(std::make_unique<DhtNode>(io, DhtMode::server, std::vector<Multiaddr>{}, disjoint_paths));
  nodes.push_back(std::make_unique<DhtNode>(io, DhtMode::server, std::vector<Multiaddr>{nodes[0]->node.full_addr()},
                                            disjoint_paths));
  std::vector<Multiaddr> bootstrap{nodes[0]->node.full_addr(), nodes[1]->node.full_addr()};
  for (std::size_t i = 2; i < n; ++i)
    nodes.push_back(std::make_unique<DhtNode>(io, DhtMode::server, bootstrap, disjoint_paths));
  return nodes;
}

TEST(DhtTest, TwentyNodesFindAProviderAndSurviveChurn) {
  boost::asio::io_context io;
  auto nodes = network(io, 20);
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto& n : nodes) co_await n->dht->bootstrap();
    for (std::size_t i = 2; i < nodes.size(); ++i) EXPECT_GE(nodes[i]->dht->routing_table().size(), 2u);

    const auto key = provider_key("stargate/capability/translate");
    auto& provider = *nodes[7];
    auto told = co_await provider.dht->provide(key);
    EXPECT_GE(told, 5u);

    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto found = co_await nodes[i]->dht->find_providers(key, 1);
      CO_ASSERT_TRUE(found.providers.size() == 1u);
      EXPECT_EQ(found.providers[0].id, provider.node.host.peer_id()) << "node " << i;
      if (i != 7) {
        EXPECT_FALSE(found.providers[0].addrs.empty());
      }
    }

    // 20% of the nodes die (not the provider); lookups from the rest still find it.
    for (std::size_t i : {3, 9, 12, 15}) nodes[i]->close();
    for (std::size_t i : {2, 5, 11, 19}) {
      auto found = co_await nodes[i]->dht->find_providers(key, 1);
      CO_ASSERT_TRUE(found.providers.size() == 1u);
      EXPECT_EQ(found.providers[0].id, provider.node.host.peer_id());
    }
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (i != 3 && i != 9 && i != 12 && i != 15) nodes[i]->close();
  }, 120s);
}

TEST(DhtTest, LookupsWithFourDisjointPathsFindProvidersAndRecords) {
  boost::asio::io_context io;
  auto nodes = network(io, 12, 4);
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto& n : nodes) co_await n->dht->bootstrap();
    const auto key = provider_key("stargate/capability/summarise");
    EXPECT_GE(co_await nodes[5]->dht->provide(key), 5u);
    const auto record_key = public_key_record_key(nodes[6]->node.host.peer_id().bytes());
    const auto value = crypto::encode_public_key_proto(nodes[6]->node.host.identity().public_key());
    EXPECT_GE(co_await nodes[6]->dht->put_value(record_key, value), 5u);
    for (std::size_t i : {0, 3, 9, 11}) {
      auto found = co_await nodes[i]->dht->find_providers(key, 1);
      CO_ASSERT_TRUE(found.providers.size() == 1u);
      EXPECT_EQ(found.providers[0].id, nodes[5]->node.host.peer_id());
      auto got = co_await nodes[i]->dht->get_value(record_key);
      CO_ASSERT_TRUE(got.value.has_value());
      EXPECT_EQ(*got.value, value);
      auto closest = co_await nodes[i]->dht->find_closest(nodes[8]->node.host.peer_id().bytes());
      CO_ASSERT_TRUE(!closest.closest.empty());
      EXPECT_EQ(closest.closest.front().peer, nodes[8]->node.host.peer_id());
    }
    for (auto& n : nodes) n->close();
  }, 60s);
}

TEST(DhtTest, ClosestPeersAreFoundAndAClientIsNotInAnyTable) {
  boost::asio::io_context io;
  auto nodes = network(io, 8);
  DhtNode client(io, DhtMode::client, {nodes[0]->node.full_addr()});
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto& n : nodes) co_await n->dht->bootstrap();
    EXPECT_EQ(co_await client.dht->bootstrap(), 1u);
    // The client can look things up...
    auto target = nodes[5]->node.host.peer_id();
    auto result = co_await client.dht->find_closest(target.bytes());
    CO_ASSERT_TRUE(!result.closest.empty());
    EXPECT_EQ(result.closest.front().peer, target);
    EXPECT_FALSE(result.timed_out);
    // ...but does not answer, so no server keeps it.
    for (auto& n : nodes) EXPECT_EQ(n->dht->routing_table().find(client.node.host.peer_id()), nullptr);
    // Switching to server mode is announced by identify push, and servers add it.
    client.dht->set_mode(DhtMode::server);
    bool known = co_await wait_until([&] { return nodes[0]->dht->routing_table().find(client.node.host.peer_id()); }, 10s);
    EXPECT_TRUE(known);
    client.close();
    for (auto& n : nodes) n->close();
  }, 60s);
}

TEST(DhtTest, RecordsAreValidatedStoredAndFound) {
  boost::asio::io_context io;
  auto nodes = network(io, 10);
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto& n : nodes) co_await n->dht->bootstrap();
    // A /pk/ record: node 4's public key, stored under its PeerId's hash.
    const auto& owner = nodes[4]->node.host;
    const auto key = public_key_record_key(owner.peer_id().bytes());
    const auto value = crypto::encode_public_key_proto(owner.identity().public_key());
    auto stored = co_await nodes[4]->dht->put_value(key, value);
    EXPECT_GE(stored, 5u);
    auto got = co_await nodes[8]->dht->get_value(key);
    CO_ASSERT_TRUE(got.value.has_value());
    EXPECT_EQ(*got.value, value);

    // Someone else's key under node 4's name is refused by our validator, and by servers.
    const auto wrong = crypto::encode_public_key_proto(nodes[5]->node.host.identity().public_key());
    bool threw = false;
    try {
      co_await nodes[5]->dht->put_value(key, wrong);
    } catch (const std::exception&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    // A namespace nobody validates is refused by our side too.
    threw = false;
    try {
      const Bytes free_storage{'/', 'x', '/', 'y'};
      const Bytes anything{1, 2, 3};
      co_await nodes[5]->dht->put_value(free_storage, anything);
    } catch (const std::exception&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    auto missing = co_await nodes[2]->dht->get_value(public_key_record_key(nodes[6]->node.host.peer_id().bytes()));
    EXPECT_FALSE(missing.value.has_value());
    for (auto& n : nodes) n->close();
  }, 60s);
}

TEST(DhtTest, AFloodingPeerIsRateLimitedWhileOthersKeepTheirService) {
  boost::asio::io_context io;
  TestNode server_node(io);
  DhtOptions options;
  options.mode = DhtMode::server;
  options.requests_per_peer = RateLimit{1, 5};  // 5 at once, then one a second
  auto server = Dht::enable(server_node.host, *server_node.identify, options);
  DhtNode honest(io, DhtMode::server, {server_node.full_addr()});
  TestNode flooder(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await flooder.host.connect(server_node.full_addr());
    std::vector<std::string> protocols{std::string(kDefaultProtocol)};
    Message ask;
    ask.type = MessageType::find_node;
    ask.key = flooder.host.peer_id().bytes();
    std::size_t answered = 0, refused = 0;
    for (int i = 0; i < 20; ++i) {
      auto stream = co_await flooder.host.open_stream(connection, protocols);
      co_await write_length_prefixed(*stream, encode(ask));
      bool ok = true;
      try {
        auto reply = co_await read_length_prefixed(*stream, kMaxMessageSize);
        ok = decode(reply).has_value();
      } catch (const std::exception&) {
        ok = false;
      }
      (ok ? answered : refused) += 1;
    }
    EXPECT_GE(answered, 5u);
    EXPECT_LE(answered, 7u);  // the burst, plus what refilled while the loop ran
    EXPECT_GE(refused, 13u);
    EXPECT_EQ(server->counters().requests_rate_limited, refused);
    // The honest peer still gets answers.
    EXPECT_EQ(co_await honest.dht->bootstrap(), 1u);
    server->close();
    honest.close();
  }, 60s);
}

TEST(DhtTest, HostileRequestsAreRefusedAndTheServerKeepsServing) {
  boost::asio::io_context io;
  auto nodes = network(io, 3);
  TestNode attacker(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto& n : nodes) co_await n->dht->bootstrap();
    auto& server = *nodes[0];
    auto connection = co_await attacker.host.connect(server.node.full_addr());
    std::vector<std::string> protocols{std::string(kDefaultProtocol)};

    // A provider record in someone else's name.
    Message forged;
    forged.type = MessageType::add_provider;
    forged.key = provider_key("x");
    forged.provider_peers.push_back(PeerEntry{nodes[1]->node.host.peer_id(), {}});
    auto stream = co_await attacker.host.open_stream(connection, protocols);
    co_await write_length_prefixed(*stream, encode(forged));
    co_await stream->close_write();
    bool refused = co_await wait_until([&] { return server.dht->counters().requests_refused >= 1; }, 5s);
    EXPECT_TRUE(refused);
    EXPECT_EQ(server.dht->provider_store().records(), 0u);

    // A record that does not validate, sent straight to a server.
    Message bad_record;
    bad_record.type = MessageType::put_value;
    bad_record.key = public_key_record_key(nodes[1]->node.host.peer_id().bytes());
    bad_record.record = Record{bad_record.key, crypto::encode_public_key_proto(attacker.host.identity().public_key())};
    stream = co_await attacker.host.open_stream(connection, protocols);
    co_await write_length_prefixed(*stream, encode(bad_record));
    refused = co_await wait_until([&] { return server.dht->counters().records_refused >= 1; }, 5s);
    EXPECT_TRUE(refused);
    EXPECT_EQ(server.dht->record_store().size(), 0u);

    // Garbage, and an oversized length prefix.
    stream = co_await attacker.host.open_stream(connection, protocols);
    const Bytes garbage{0xff, 0xff, 0xff};
    co_await write_length_prefixed(*stream, garbage);
    refused = co_await wait_until([&] { return server.dht->counters().requests_refused >= 3; }, 5s);
    EXPECT_TRUE(refused);
    stream = co_await attacker.host.open_stream(connection, protocols);
    Bytes huge_prefix{0xff, 0xff, 0xff, 0x7f};
    co_await stream->write_all(huge_prefix);
    bool reset = false;
    try {
      Bytes buffer(16);
      reset = co_await stream->read_some(buffer) == 0;
    } catch (const std::exception&) {
      reset = true;
    }
    EXPECT_TRUE(reset);

    // Still serving a well-formed request.
    auto found = co_await nodes[2]->dht->find_closest(nodes[0]->node.host.peer_id().bytes());
    EXPECT_FALSE(found.closest.empty());
    for (auto& n : nodes) n->close();
  }, 60s);
}

// Three strikes within 10 s back a peer off for 30 s (agents: [limits] strikes_before_backoff).
DhtOptions strict_server() {
  DhtOptions options;
  options.mode = DhtMode::server;
  options.requests_per_peer = RateLimit{1, 5};  // 5 at once, then one a second
  options.offenders = OffenderTracker::Config{3, 10s, 30s, 100};
  return options;
}

TEST(DhtTest, AFloodingPeerIsDisconnectedAndBackedOffWhileOthersKeepTheirService) {
  boost::asio::io_context io;
  TestNode server_node(io);
  auto server = Dht::enable(server_node.host, *server_node.identify, strict_server());
  DhtNode honest(io, DhtMode::server, {server_node.full_addr()});
  // A DHT server itself, so that identify puts it in the server's table before it floods.
  DhtNode flooder(io, DhtMode::server, {});
  const auto flooder_id = flooder.node.host.peer_id();
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await flooder.node.host.connect(server_node.full_addr());
    bool known = co_await wait_until([&] { return server->routing_table().find(flooder_id) != nullptr; }, 10s);
    EXPECT_TRUE(known);
    Message find;
    find.type = MessageType::find_node;
    find.key = flooder_id.bytes();
    std::size_t answered = 0;
    for (int i = 0; i < 20; ++i)
      if (co_await ask(flooder.node.host, connection, find)) ++answered;
    EXPECT_GE(answered, 5u);
    EXPECT_LE(answered, 7u);  // the burst, plus what refilled while the loop ran
    // The third refusal backs it off: its connection is closed and it leaves the table.
    bool closed = co_await wait_until([&] { return connection->is_closed(); }, 5s);
    EXPECT_TRUE(closed);
    EXPECT_EQ(server->counters().peers_backed_off, 1u);
    EXPECT_TRUE(server->backed_off(flooder_id));
    EXPECT_EQ(server->routing_table().find(flooder_id), nullptr);

    // Coming back during the back-off: the new connection is closed as soon as it is up, and a
    // request on it goes unanswered. (The dial itself may fail if the close wins the race.)
    std::shared_ptr<MuxedConnection> again;
    try {
      again = co_await flooder.node.host.connect(server_node.full_addr());
    } catch (const std::exception&) {
    }
    if (again) {
      const bool answered_again = co_await ask(flooder.node.host, again, find);
      EXPECT_FALSE(answered_again);
      closed = co_await wait_until([&] { return again->is_closed(); }, 5s);
      EXPECT_TRUE(closed);
    }
    bool refused = co_await wait_until([&] { return server->counters().connections_refused_backoff >= 1; }, 5s);
    EXPECT_TRUE(refused);
    EXPECT_EQ(server->routing_table().find(flooder_id), nullptr);
    EXPECT_EQ(server->counters().peers_backed_off, 1u);

    // The honest peer is served all along.
    EXPECT_EQ(co_await honest.dht->bootstrap(), 1u);
    EXPECT_NE(server->routing_table().find(honest.node.host.peer_id()), nullptr);
    EXPECT_FALSE(server->backed_off(honest.node.host.peer_id()));
    server->close();
    honest.close();
    flooder.close();
  }, 60s);
}

TEST(DhtTest, APeerThatKeepsPuttingInvalidRecordsIsBackedOff) {
  boost::asio::io_context io;
  TestNode server_node(io);
  auto options = strict_server();
  options.requests_per_peer = RateLimit{50, 200};  // records, not the rate, are the offence here
  auto server = Dht::enable(server_node.host, *server_node.identify, options);
  DhtNode honest(io, DhtMode::server, {server_node.full_addr()});
  TestNode attacker(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await attacker.host.connect(server_node.full_addr());
    // The attacker's key under the honest node's /pk/ name: fails validation.
    Message bad_record;
    bad_record.type = MessageType::put_value;
    bad_record.key = public_key_record_key(honest.node.host.peer_id().bytes());
    bad_record.record = Record{bad_record.key, crypto::encode_public_key_proto(attacker.host.identity().public_key())};
    for (int i = 0; i < 3; ++i) {
      const bool stored = co_await ask(attacker.host, connection, bad_record);
      EXPECT_FALSE(stored);
    }
    bool closed = co_await wait_until([&] { return connection->is_closed(); }, 5s);
    EXPECT_TRUE(closed);
    EXPECT_EQ(server->counters().records_refused, 3u);
    EXPECT_EQ(server->counters().peers_backed_off, 1u);
    EXPECT_TRUE(server->backed_off(attacker.host.peer_id()));
    EXPECT_EQ(server->record_store().size(), 0u);

    // A valid record from the honest peer is still stored.
    const auto value = crypto::encode_public_key_proto(honest.node.host.identity().public_key());
    co_await honest.dht->bootstrap();
    EXPECT_EQ(co_await honest.dht->put_value(bad_record.key, value), 1u);
    EXPECT_EQ(server->record_store().size(), 1u);
    EXPECT_FALSE(server->backed_off(honest.node.host.peer_id()));
    server->close();
    honest.close();
  }, 60s);
}

}  // namespace
}  // namespace stargate::p2p::kad
