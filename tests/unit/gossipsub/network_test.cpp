// Many routers wired together in memory on a virtual clock: every RPC goes through the codec, as
// it would on the wire.
#include "p2p/protocols/gossipsub/router.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>

namespace stargate::p2p::gossipsub {
namespace {

using namespace std::chrono_literals;

class Network {
 public:
  explicit Network(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      routers.push_back(std::make_unique<Router>(crypto::Ed25519PrivateKey::generate(), RouterConfig{}, 1, 100 + i));
      index[routers.back()->peer_id()] = i;
    }
  }
  void connect(std::size_t a, std::size_t b) {
    routers[a]->add_peer(routers[b]->peer_id(), PeerKind::meshsub_v11, true, now);
    routers[b]->add_peer(routers[a]->peer_id(), PeerKind::meshsub_v11, false, now);
  }
  // Carries RPCs until nobody has anything left to send.
  void settle() {
    for (bool busy = true; busy;) {
      busy = false;
      for (std::size_t i = 0; i < routers.size(); ++i) {
        for (auto& [to, rpc] : routers[i]->take_outbound()) {
          busy = true;
          auto decoded = decode(encode(rpc));
          ASSERT_TRUE(decoded) << decoded.error().message;
          routers[index.at(to)]->handle_rpc(routers[i]->peer_id(), std::move(*decoded), now);
        }
      }
    }
  }
  void heartbeats(int count) {
    for (int i = 0; i < count; ++i) {
      now += 1s;
      for (auto& r : routers) r->heartbeat(now);
      settle();
    }
  }
  std::vector<std::unique_ptr<Router>> routers;
  std::map<crypto::PeerId, std::size_t> index;
  TimePoint now = test::t0();
};

TEST(GossipsubNetwork, MeshesFormWithinBoundsAndAMessageReachesEveryoneOnce) {
  Network net(20);
  for (std::size_t a = 0; a < 20; ++a)
    for (std::size_t b = a + 1; b < 20; ++b) net.connect(a, b);
  for (auto& r : net.routers) r->subscribe("t", net.now);
  net.settle();
  net.heartbeats(5);
  for (auto& r : net.routers) {
    const auto size = r->mesh("t").size();
    EXPECT_GE(size, r->config().D_lo);
    EXPECT_LE(size, r->config().D_hi);
    // Mesh links are symmetric once GRAFTs and PRUNEs have settled.
    for (const auto& peer : r->mesh("t")) {
      auto other = net.routers[net.index.at(peer)]->mesh("t");
      EXPECT_NE(std::find(other.begin(), other.end(), r->peer_id()), other.end());
    }
  }
  ASSERT_TRUE(net.routers[0]->publish("t", to_bytes("hello"), net.now));
  net.settle();
  EXPECT_TRUE(net.routers[0]->take_deliveries().empty());
  for (std::size_t i = 1; i < 20; ++i) {
    auto got = net.routers[i]->take_deliveries();
    ASSERT_EQ(got.size(), 1u) << "router " << i;
    EXPECT_EQ(got[0].message.data, to_bytes("hello"));
  }
}

TEST(GossipsubNetwork, MessagesCrossALineHopByHop) {
  // 0 - 1 - 2 - 3 - 4 in a line: the mesh is the line itself, and messages cross it hop by hop.
  Network net(5);
  for (std::size_t i = 0; i + 1 < 5; ++i) net.connect(i, i + 1);
  for (auto& r : net.routers) r->subscribe("t", net.now);
  net.settle();
  net.heartbeats(2);
  ASSERT_TRUE(net.routers[2]->publish("t", to_bytes("mid"), net.now));
  net.settle();
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_EQ(net.routers[i]->take_deliveries().size(), i == 2 ? 0u : 1u) << "router " << i;
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
