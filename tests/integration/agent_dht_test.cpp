// Agents with no broker and no relay list: they join the DHT through two bootstrap agents, find a
// capability through provider records, fetch the provider's signed announcement from the DHT,
// and call it; lookups survive 20% of the network dying.
#include "agent_test_support.hpp"
#include "crypto/key_file.hpp"
#include "crypto/peer_id.hpp"
#include "host_test_support.hpp"

#include <memory>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

// Deadlines bound a hang; they are not measurements (docs/testing.md, "Waits"). Under ASan every
// agent of a test shares one thread, and on a loaded 2-core machine that thread gets part of a
// core: each DHT request waits its turn, lookups run into their 30 s query timeout, and an agent's
// first publishing round (two bootstrap requests, the lookup of its own key, then a lookup and
// stores per record) took 78 s with 50 agents at a load of 2 to 3, where the old 60 s deadline
// failed. The DHT bounds the round itself (two lookups of at most 30 s; a request's dial, upgrade
// and negotiation at most 10 s each, then 5 s for the answer), so it ends well within these.
constexpr auto kJoined = 60s;      // a new agent's first bootstrap peer has answered
constexpr auto kPublished = 240s;  // an agent's first publishing round has ended
constexpr auto kFound = 90s;       // an agent finds (or calls) another, retrying: a lookup or two each
constexpr auto kCall = 60s;        // one call by agent ID, its DHT lookups, dial and upgrade included
constexpr auto kGossiped = 60s;    // an announcement has crossed gossipsub (meshing included)

NodeOptions dht_agent(const std::string& name, std::vector<std::string> bootstrap) {
  auto options = p2p_agent(name);
  options.dht_mode = DhtMode::server;  // loopback is never "public" to AutoNAT
  options.bootstrap = std::move(bootstrap);
  return options;
}

// Discovers `capability` until `expected` is among the answers (the provider publishes in the
// background after start()); false after `timeout`.
awaitable<bool> discovers(StarGateNode& node, const std::string& capability, const std::string& expected,
                          std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < end) {
    for (const auto& peer : co_await node.discover(capability))
      if (peer.agent_id == expected) co_return true;
    pause.expires_after(100ms);
    co_await pause.async_wait(boost::asio::use_awaitable);
  }
  co_return false;
}

// Agents on one thread, started one after the other: each once the one before has joined the DHT
// (a bootstrap peer answered: its routing table is no longer empty). Started all at once, 48
// agents dialed the two bootstrap agents together; on a loaded machine those upgrades outlasted the
// 2 s a host under handshake pressure allows (issue 13), were refused, and an agent whose
// bootstrap got no answer stayed out of the DHT (bootstrap was not retried then; it is now, with
// back-off, which would still leave the agent outside for the test's first minute).
// Their gossipsub announcements are made at start and not repeated while the test runs: every 30 s
// (the default) 50 announcements cost 0.55 of a core on average under ASan, against 0.1 for the
// rest of the idle network; where the test gets a third of a core, its lookups starved behind
// them (30 s per discover). Nothing here depends on the refresh: the DHT records are the subject.
struct AgentNetwork {
  AgentNetwork(boost::asio::io_context& io, std::size_t size) : io(io), size(size) {}
  static NodeOptions agent(const std::string& name, std::vector<std::string> bootstrap) {
    auto options = dht_agent(name, std::move(bootstrap));
    options.announce_interval = std::chrono::seconds(1200);  // beyond the tests' bounds
    options.announce_ttl = std::chrono::seconds(2400);
    return options;
  }
  // Starts an agent (serving "echo" unless it is a bootstrap agent); with bootstrap peers, waits
  // until one of them has answered.
  awaitable<void> add(NodeOptions options) {
    const bool joins = !options.bootstrap.empty();
    const bool serves = nodes.size() >= 2;
    nodes.push_back(std::make_unique<StarGateNode>(io.get_executor(), std::move(options)));
    auto& node = *nodes.back();
    if (serves) node.handle("echo", echo_handler());
    co_await node.start();
    if (!joins) co_return;
    const bool joined = co_await wait_until([&] { return node.get_status().dht.routing_table_peers > 0; }, kJoined);
    if (!joined) throw std::runtime_error(node.get_status().name + " did not join the DHT: no bootstrap peer answered");
  }
  awaitable<void> start() {
    // Named locals, not temporaries in the co_await expressions: g++ 12 destroys those twice.
    auto boot0 = agent("boot-0", {});
    co_await add(std::move(boot0));
    auto first = nodes[0]->get_status().addresses.front();
    auto boot1 = agent("boot-1", {first});
    co_await add(std::move(boot1));
    std::vector<std::string> bootstrap{first, nodes[1]->get_status().addresses.front()};
    for (std::size_t i = 2; i < size; ++i) {
      auto options = agent("agent-" + std::to_string(i), bootstrap);
      if (i == size / 2) options.capabilities = {"translate"};
      co_await add(std::move(options));
    }
  }
  StarGateNode& provider() { return *nodes[size / 2]; }
  boost::asio::io_context& io;
  std::size_t size;
  std::vector<std::unique_ptr<StarGateNode>> nodes;
};

TEST(AgentDhtTest, FiftyAgentsFindACapabilityAndCallItWithoutABroker) {
  boost::asio::io_context io;
  AgentNetwork net(io, 50);
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await net.start();
    const auto provider_id = net.provider().agent_id();
    // The provider's first publishing round (a lookup and stores for its announcement, then for
    // its capability) runs in the background after start(): wait until it has ended...
    bool published = co_await wait_until([&] { return net.provider().get_status().dht.publishes >= 1; }, kPublished);
    if (!published) {
      for (const auto& node : net.nodes) {
        auto s = node->get_status();
        for (const auto& [what, n] : s.resources.refused) ADD_FAILURE() << s.name << " refused " << what << ": " << n;
        ADD_FAILURE() << s.name << " dht sent " << s.dht.requests_sent << " failed " << s.dht.requests_failed << " served " << s.dht.requests_served << " refused " << s.dht.requests_refused;
      }
    }
    CO_ASSERT_TRUE(published);
    // ...then every agent finds it (kFound: the test's bound).
    for (std::size_t i = 0; i < net.nodes.size(); ++i) {
      if (net.nodes[i].get() == &net.provider()) continue;
      bool found = co_await discovers(*net.nodes[i], "translate", provider_id, kFound);
      EXPECT_TRUE(found) << "agent " << i;
      if (!found) {
        // Who is in the DHT at all, and who holds the provider record (an agent outside the DHT,
        // or a record stored on few peers, is what made this fail before).
        for (const auto& node : net.nodes) {
          auto s = node->get_status();
          ADD_FAILURE() << s.name << ": " << s.dht.routing_table_peers << " peers in the routing table, "
                        << s.dht.provider_records << " provider records, " << s.dht.lookups << " lookups";
        }
        co_return;
      }
    }
    // The discovered entry came from the DHT record: the provider's name and addresses are known.
    auto peers = co_await net.nodes[3]->discover("translate");
    CO_ASSERT_TRUE(peers.size() == 1u);
    EXPECT_EQ(peers[0].name, "agent-25");
    EXPECT_FALSE(peers[0].addresses.empty());
    // A call by agent ID, with no broker anywhere.
    json::value params = json::object{{"n", 1}};
    const std::optional<std::chrono::milliseconds> call_timeout = kCall;  // a named local: g++ 12
    auto result = co_await net.nodes[7]->call(provider_id, "echo", params, call_timeout);
    EXPECT_EQ(result.at("caller").as_string(), net.nodes[7]->agent_id());
    auto status = net.nodes[7]->get_status();
    EXPECT_EQ(status.dht.mode, "server");
    EXPECT_GE(status.dht.routing_table_peers, 10u);
    EXPECT_GT(net.provider().get_status().dht.requests_served, 0u);
    // Honest agents, however busy, never back each other off.
    for (const auto& node : net.nodes) EXPECT_EQ(node->get_status().dht.peers_backed_off, 0u);

    // 20% of the agents stop (neither the provider nor the bootstrap agents); the rest still find
    // the provider and call it, by agent ID, looked up afresh by agents that never saw it.
    for (std::size_t i = 40; i < 50; ++i) net.nodes[i].reset();
    for (std::size_t i : {4, 11, 30, 39}) {
      bool found = co_await discovers(*net.nodes[i], "translate", provider_id, kFound);
      EXPECT_TRUE(found) << "agent " << i << " after churn";
      auto after = co_await net.nodes[i]->call(provider_id, "echo", params, call_timeout);
      EXPECT_EQ(after.at("echo").at("n").as_int64(), 1);
    }
  }, 840s);  // a hang's bound: 3 times a run at load 6 (280 s); below its ctest TIMEOUT (tests/CMakeLists.txt)
}

TEST(AgentDhtTest, AnAgentIsCalledByAgentIdFromItsDhtRecordAlone) {
  boost::asio::io_context io;
  AgentNetwork net(io, 6);
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await net.start();
    auto& callee = *net.nodes[5];
    // Wait until the callee has published its record in the DHT.
    bool published = co_await wait_until([&] { return callee.get_status().dht.publishes >= 1; }, kPublished);
    CO_ASSERT_TRUE(published);
    // Another agent that never heard of it calls it by agent ID, then by PeerId.
    json::value params = json::object{{"k", "v"}};
    const std::optional<std::chrono::milliseconds> call_timeout = kCall;  // a named local: g++ 12
    bool called = false;
    boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
    const auto give_up = std::chrono::steady_clock::now() + kFound;
    while (!called && std::chrono::steady_clock::now() < give_up) {
      bool failed = false;
      try {
        auto result = co_await net.nodes[2]->call(callee.agent_id(), "echo", params, call_timeout);
        called = result.at("echo").at("k").as_string() == "v";
      } catch (const CallError&) {
        failed = true;
      }
      if (failed) {
        pause.expires_after(200ms);
        co_await pause.async_wait(boost::asio::use_awaitable);
      }
    }
    EXPECT_TRUE(called);
    auto by_peer_id = co_await net.nodes[3]->call(callee.peer_id(), "echo", params, call_timeout);
    EXPECT_EQ(by_peer_id.at("caller").as_string(), net.nodes[3]->agent_id());
    // An unknown agent is still a clear "unreachable" (once its lookup has ended: not a timeout).
    int code = 0;
    try {
      co_await net.nodes[2]->call("0123456789abcdef0123456789abcdef", "echo", params, call_timeout);
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, -32001);
  }, 240s);
}

// A port nothing listens on (taken and given back; nothing else on loopback takes it meanwhile).
unsigned short unused_loopback_port(boost::asio::io_context& io) {
  boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();
}

// An agent whose only bootstrap peer is down when it starts asks again with back-off, joins once
// the peer is up, and only then counts its records as published (a round no peer stored is not a
// publish). Before, one failed bootstrap left it outside the DHT for good.
TEST(AgentDhtTest, AnAgentWhoseBootstrapPeerIsDownJoinsOnceItIsUp) {
  boost::asio::io_context io;
  run_with_timeout(io, [&]() -> awaitable<void> {
    const auto port = std::to_string(unused_loopback_port(io));
    auto boot_options = dht_agent("boot", {});
    boot_options.listen_addrs = {"/ip4/127.0.0.1/tcp/" + port};
    // boot's identity made beforehand, for its PeerId in late's bootstrap address.
    bool created = false;
    auto boot_key = crypto::load_or_create_identity(crypto::resolve_identity_dir(boot_options.identity_dir), created);
    CO_ASSERT_TRUE(boot_key.has_value());
    const auto boot_peer = crypto::PeerId::from_public_key(boot_key->public_key()).to_string();
    StarGateNode boot(io.get_executor(), boot_options);  // not started yet: nothing answers on `port`
    auto late_options = dht_agent("late", {"/ip4/127.0.0.1/tcp/" + port + "/p2p/" + boot_peer});
    late_options.capabilities = {"translate"};
    StarGateNode late(io.get_executor(), late_options);
    late.handle("echo", echo_handler());
    co_await late.start();
    // Its first bootstrap request has failed: the peer was down.
    bool refused = co_await wait_until([&] { return late.get_status().dht.requests_failed >= 1; }, kJoined);
    CO_ASSERT_TRUE(refused);
    EXPECT_EQ(late.get_status().dht.routing_table_peers, 0u);
    EXPECT_EQ(late.get_status().dht.publishes, 0u);
    co_await boot.start();
    bool joined = co_await wait_until([&] { return late.get_status().dht.routing_table_peers > 0; }, kJoined);
    CO_ASSERT_TRUE(joined);
    bool published = co_await wait_until([&] { return late.get_status().dht.publishes >= 1; }, kPublished);
    CO_ASSERT_TRUE(published);
    // The records are on boot now: it finds the capability and calls its provider.
    bool found = co_await discovers(boot, "translate", late.agent_id(), kFound);
    CO_ASSERT_TRUE(found);
    json::value params = json::object{{"n", 7}};
    const std::optional<std::chrono::milliseconds> call_timeout = kCall;  // a named local: g++ 12
    auto result = co_await boot.call(late.agent_id(), "echo", params, call_timeout);
    EXPECT_EQ(result.at("echo").at("n").as_int64(), 7);
    co_await late.stop();
    co_await boot.stop();
  }, 240s);
}

TEST(AgentGossipTest, AnnouncementsTravelOverGossipsubAndALeaveRemovesTheAgentAtOnce) {
  boost::asio::io_context io;
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto hub_options = dht_agent("hub", {});
    hub_options.announce_interval = std::chrono::seconds(1);  // refreshes reach peers once meshed
    StarGateNode hub(io.get_executor(), hub_options);
    co_await hub.start();
    const std::vector<std::string> bootstrap{hub.get_status().addresses.front()};
    auto bob_options = dht_agent("bob", bootstrap);
    bob_options.capabilities = {"summarize"};
    bob_options.announce_interval = std::chrono::seconds(1);
    auto bob = std::make_unique<StarGateNode>(io.get_executor(), bob_options);
    auto carol_options = dht_agent("carol", bootstrap);
    carol_options.announce_interval = std::chrono::seconds(1);
    StarGateNode carol(io.get_executor(), carol_options);
    co_await bob->start();
    co_await carol.start();
    const auto bob_id = bob->agent_id();
    // Whether carol's directory holds bob's announcement (name and capability come only from it:
    // a peer merely met over libp2p is listed without them).
    auto carol_sees_bob = [&]() -> awaitable<bool> {
      for (const auto& peer : co_await carol.discover())
        if (peer.agent_id == bob_id && peer.name == "bob" && peer.capabilities == std::vector<std::string>{"summarize"})
          co_return true;
      co_return false;
    };
    boost::asio::steady_timer pause(io);
    bool known = false;
    for (const auto give_up = std::chrono::steady_clock::now() + kGossiped; std::chrono::steady_clock::now() < give_up;) {
      known = co_await carol_sees_bob();
      if (known) break;
      pause.expires_after(100ms);
      co_await pause.async_wait(boost::asio::use_awaitable);
    }
    CO_ASSERT_TRUE(known);
    EXPECT_GT(carol.get_status().known_peers, 0u);
    // bob stops: his leave message removes him from carol's directory at once, not at TTL expiry
    // (90 s): the deadline stays well below it.
    co_await bob->stop();
    bool gone = false;
    for (const auto give_up = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < give_up;) {
      gone = !(co_await carol_sees_bob());
      if (gone) break;
      pause.expires_after(100ms);
      co_await pause.async_wait(boost::asio::use_awaitable);
    }
    EXPECT_TRUE(gone);
    co_await carol.stop();
    co_await hub.stop();
  }, 180s);
}

}  // namespace
}  // namespace stargate
