// Gossipsub between real C++ hosts on loopback.
#include "host_test_support.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"

#include <map>

namespace stargate::testing {
namespace {

using namespace std::chrono_literals;
namespace gs = p2p::gossipsub;

struct PubsubNode {
  explicit PubsubNode(boost::asio::io_context& io) : node(io) {
    gs::GossipsubOptions options;
    options.router.heartbeat_interval = 100ms;  // tests do not wait for the 1 s default
    service = gs::GossipsubService::enable(node.host, options);
  }
  ~PubsubNode() {
    service->close();
    node.host.close();
  }
  TestNode node;
  std::shared_ptr<gs::GossipsubService> service;
  std::map<std::string, int> received;  // data -> copies
};

// Connects the nodes as given, subscribes all to `topic` and waits for every link to show up in
// the neighbours' peer lists.
p2p::awaitable<bool> build(std::vector<std::unique_ptr<PubsubNode>>& nodes,
                           const std::vector<std::pair<std::size_t, std::size_t>>& edges, const std::string& topic) {
  for (auto& n : nodes) {
    auto* raw = n.get();
    raw->service->subscribe(topic, [raw](const gs::Message& m) { ++raw->received[std::string(as_string(m.data))]; });
  }
  for (const auto& [a, b] : edges) co_await nodes[a]->node.host.connect(nodes[b]->node.full_addr());
  co_return co_await wait_until(
      [&] {
        for (const auto& [a, b] : edges) {
          if (nodes[a]->service->mesh(topic).empty() || nodes[b]->service->mesh(topic).empty()) return false;
          if (nodes[a]->service->peers(topic).empty() || nodes[b]->service->peers(topic).empty()) return false;
        }
        return true;
      },
      10s);
}

void run_topology(const std::vector<std::pair<std::size_t, std::size_t>>& edges, std::size_t count) {
  boost::asio::io_context io;
  std::vector<std::unique_ptr<PubsubNode>> nodes;
  for (std::size_t i = 0; i < count; ++i) nodes.push_back(std::make_unique<PubsubNode>(io));
  run_with_timeout(io, [&]() -> p2p::awaitable<void> {
    CO_ASSERT_TRUE(co_await build(nodes, edges, "chat"));
    auto id = nodes[0]->service->publish("chat", to_bytes("hello"));
    CO_ASSERT_TRUE(id.has_value());
    CO_ASSERT_TRUE(co_await wait_until(
        [&] {
          for (std::size_t i = 1; i < nodes.size(); ++i)
            if (nodes[i]->received["hello"] < 1) return false;
          return true;
        },
        10s));
    // Let duplicates, if any, arrive, through a few heartbeats of gossip.
    co_await wait_until([] { return false; }, 500ms);
    for (std::size_t i = 1; i < nodes.size(); ++i) EXPECT_EQ(nodes[i]->received["hello"], 1) << "node " << i;
    EXPECT_EQ(nodes[0]->received.count("hello"), 0u);
    EXPECT_EQ(nodes[0]->service->stats().router.published, 1u);
  });
}

TEST(Gossipsub, LineOfSixDeliversExactlyOnce) { run_topology({{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}, 6); }

TEST(Gossipsub, StarOfSixDeliversExactlyOnce) {
  // Node 0 publishes from a leaf; node 1 is the hub.
  run_topology({{1, 0}, {1, 2}, {1, 3}, {1, 4}, {1, 5}}, 6);
}

TEST(Gossipsub, ForgedMessageIsNotDelivered) {
  boost::asio::io_context io;
  std::vector<std::unique_ptr<PubsubNode>> nodes;
  for (int i = 0; i < 2; ++i) nodes.push_back(std::make_unique<PubsubNode>(io));
  run_with_timeout(io, [&]() -> p2p::awaitable<void> {
    const std::vector<std::pair<std::size_t, std::size_t>> edges{{0, 1}};
    CO_ASSERT_TRUE(co_await build(nodes, edges, "chat"));
    // A raw peer speaks meshsub to node 1 and sends a message that claims node 0 as its author.
    TestNode liar(io);
    auto connection = co_await liar.host.connect(nodes[1]->node.full_addr());
    std::vector<std::string> protocols{std::string(gs::kMeshsubV11)};
    auto stream = co_await liar.host.open_stream(connection, protocols);
    auto forged = gs::make_signed_message(liar.host.identity(), liar.host.peer_id(), "chat", to_bytes("forged"), 1);
    forged.from = nodes[0]->node.host.peer_id().bytes();
    gs::Rpc rpc;
    rpc.subscriptions.push_back(gs::SubOpt{true, "chat"});
    rpc.publish.push_back(forged);
    auto body = gs::encode(rpc);
    co_await p2p::write_length_prefixed(*stream, body);
    const auto bad_signature = static_cast<std::size_t>(gs::Rejection::bad_signature);
    CO_ASSERT_TRUE(co_await wait_until(
        [&] { return nodes[1]->service->stats().router.rejected[bad_signature] >= 1; }, 10s));
    // A real message still flows between the honest nodes, and the forged one never arrives.
    CO_ASSERT_TRUE(nodes[0]->service->publish("chat", to_bytes("real")).has_value());
    CO_ASSERT_TRUE(co_await wait_until([&] { return nodes[1]->received["real"] == 1; }, 10s));
    EXPECT_EQ(nodes[1]->received.count("forged"), 0u);
    EXPECT_EQ(nodes[0]->received.count("forged"), 0u);
    stream->reset();
    liar.host.close();
  });
}

}  // namespace
}  // namespace stargate::testing
