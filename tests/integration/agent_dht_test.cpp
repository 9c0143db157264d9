// Agents with no broker and no relay list: they join the DHT through two bootstrap agents, find a
// capability through provider records, fetch the provider's signed announcement from the DHT,
// and call it; lookups survive 20% of the network dying.
#include "agent_test_support.hpp"
#include "host_test_support.hpp"

#include <memory>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

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

struct AgentNetwork {
  AgentNetwork(boost::asio::io_context& io, std::size_t size) : io(io), size(size) {}
  awaitable<void> start() {
    nodes.push_back(std::make_unique<StarGateNode>(io.get_executor(), dht_agent("boot-0", {})));
    co_await nodes.back()->start();
    auto first = nodes[0]->get_status().addresses.front();
    nodes.push_back(std::make_unique<StarGateNode>(io.get_executor(), dht_agent("boot-1", {first})));
    co_await nodes.back()->start();
    std::vector<std::string> bootstrap{first, nodes[1]->get_status().addresses.front()};
    for (std::size_t i = 2; i < size; ++i) {
      auto options = dht_agent("agent-" + std::to_string(i), bootstrap);
      if (i == size / 2) options.capabilities = {"translate"};
      nodes.push_back(std::make_unique<StarGateNode>(io.get_executor(), options));
      nodes.back()->handle("echo", echo_handler());
      co_await nodes.back()->start();
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
    bool published = co_await wait_until([&] { return net.provider().get_status().dht.publishes >= 1; }, 60000ms);
    if (!published) {
      for (const auto& node : net.nodes) {
        auto s = node->get_status();
        for (const auto& [what, n] : s.resources.refused) ADD_FAILURE() << s.name << " refused " << what << ": " << n;
        ADD_FAILURE() << s.name << " dht sent " << s.dht.requests_sent << " failed " << s.dht.requests_failed << " served " << s.dht.requests_served << " refused " << s.dht.requests_refused;
      }
    }
    CO_ASSERT_TRUE(published);
    // ...then every agent finds it within 20 s (the test's bound).
    for (std::size_t i = 0; i < net.nodes.size(); ++i) {
      if (net.nodes[i].get() == &net.provider()) continue;
      bool found = co_await discovers(*net.nodes[i], "translate", provider_id, 20s);
      EXPECT_TRUE(found) << "agent " << i;
      if (!found) co_return;
    }
    // The discovered entry came from the DHT record: the provider's name and addresses are known.
    auto peers = co_await net.nodes[3]->discover("translate");
    CO_ASSERT_TRUE(peers.size() == 1u);
    EXPECT_EQ(peers[0].name, "agent-25");
    EXPECT_FALSE(peers[0].addresses.empty());
    // A call by agent ID, with no broker anywhere.
    json::value params = json::object{{"n", 1}};
    auto result = co_await net.nodes[7]->call(provider_id, "echo", params);
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
      bool found = co_await discovers(*net.nodes[i], "translate", provider_id, 20s);
      EXPECT_TRUE(found) << "agent " << i << " after churn";
      auto after = co_await net.nodes[i]->call(provider_id, "echo", params);
      EXPECT_EQ(after.at("echo").at("n").as_int64(), 1);
    }
  }, 240s);
}

TEST(AgentDhtTest, AnAgentIsCalledByAgentIdFromItsDhtRecordAlone) {
  boost::asio::io_context io;
  AgentNetwork net(io, 6);
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await net.start();
    auto& callee = *net.nodes[5];
    // Wait until the callee has published its record in the DHT.
    bool published = co_await wait_until([&] { return callee.get_status().dht.publishes >= 1; }, 60000ms);
    CO_ASSERT_TRUE(published);
    // Another agent that never heard of it calls it by agent ID, then by PeerId.
    json::value params = json::object{{"k", "v"}};
    bool called = false;
    boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
    for (int attempt = 0; attempt < 50 && !called; ++attempt) {
      bool failed = false;
      try {
        auto result = co_await net.nodes[2]->call(callee.agent_id(), "echo", params);
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
    auto by_peer_id = co_await net.nodes[3]->call(callee.peer_id(), "echo", params);
    EXPECT_EQ(by_peer_id.at("caller").as_string(), net.nodes[3]->agent_id());
    // An unknown agent is still a clear "unreachable".
    int code = 0;
    try {
      co_await net.nodes[2]->call("0123456789abcdef0123456789abcdef", "echo", params);
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, -32001);
  }, 120s);
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
    for (int i = 0; i < 200 && !known; ++i) {  // bounded: 200 x 100 ms
      known = co_await carol_sees_bob();
      if (known) break;
      pause.expires_after(100ms);
      co_await pause.async_wait(boost::asio::use_awaitable);
    }
    CO_ASSERT_TRUE(known);
    EXPECT_GT(carol.get_status().known_peers, 0u);
    // bob stops: his leave message removes him from carol's directory at once, not at TTL expiry
    // (90 s).
    co_await bob->stop();
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {  // bounded: 100 x 100 ms
      gone = !(co_await carol_sees_bob());
      if (gone) break;
      pause.expires_after(100ms);
      co_await pause.async_wait(boost::asio::use_awaitable);
    }
    EXPECT_TRUE(gone);
    co_await carol.stop();
    co_await hub.stop();
  }, 60s);
}

}  // namespace
}  // namespace stargate
