// The router against hand-driven peers: each test plays the other side's RPCs.
#include "p2p/protocols/gossipsub/router.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace stargate::p2p::gossipsub {
namespace {

using namespace std::chrono_literals;
using test::t0;

struct Fixture {
  explicit Fixture(std::size_t peer_count, RouterConfig config = {}, bool outbound = false)
      : router(crypto::Ed25519PrivateKey::generate(), config, 1, 42), peers(peer_count) {
    for (auto& p : peers) {
      router.add_peer(p.id, PeerKind::meshsub_v11, outbound, t0());
      router.handle_rpc(p.id, test::subscribe_rpc("t"), t0());
    }
    router.subscribe("t", t0());
  }
  bool in_mesh(const crypto::PeerId& peer) const {
    auto mesh = router.mesh("t");
    return std::find(mesh.begin(), mesh.end(), peer) != mesh.end();
  }
  Router router;
  std::vector<test::Identity> peers;
};

TEST(GossipsubRouter, JoinGraftsDPeersAndAnnouncesTheSubscription) {
  Fixture f(20);
  EXPECT_EQ(f.router.mesh("t").size(), 6u);
  std::size_t grafts = 0, subscriptions = 0;
  for (auto& [peer, rpc] : f.router.take_outbound()) {
    grafts += rpc.graft.size();
    subscriptions += rpc.subscriptions.size();
  }
  EXPECT_EQ(grafts, 6u);
  EXPECT_EQ(subscriptions, 20u);
}

TEST(GossipsubRouter, HeartbeatGraftsBelowDLo) {
  Fixture f(20);
  auto mesh = f.router.mesh("t");
  for (std::size_t i = 0; i < 3; ++i) f.router.remove_peer(mesh[i]);
  EXPECT_EQ(f.router.mesh("t").size(), 3u);
  f.router.heartbeat(t0() + 1s);
  EXPECT_EQ(f.router.mesh("t").size(), 6u);
}

TEST(GossipsubRouter, HeartbeatPrunesAboveDHiWithPeerExchange) {
  Fixture f(20, {}, /*outbound=*/true);  // outbound peers' GRAFTs are accepted even above D_hi
  for (auto& p : f.peers) {
    Rpc graft;
    graft.graft.push_back(Graft{"t"});
    f.router.handle_rpc(p.id, std::move(graft), t0());
  }
  EXPECT_EQ(f.router.mesh("t").size(), 20u);
  f.router.take_outbound();
  f.router.heartbeat(t0() + 1s);
  EXPECT_EQ(f.router.mesh("t").size(), 6u);
  std::size_t prunes = 0;
  for (auto& [peer, rpc] : f.router.take_outbound()) {
    for (auto& prune : rpc.prune) {
      ++prunes;
      EXPECT_EQ(prune.backoff_seconds, 60u);
      EXPECT_FALSE(prune.peers.empty());
      EXPECT_EQ(std::count(prune.peers.begin(), prune.peers.end(), peer), 0);
    }
  }
  EXPECT_EQ(prunes, 14u);
}

TEST(GossipsubRouter, InboundGraftAboveDHiIsRefused) {
  Fixture f(20);
  std::size_t refused = 0;
  for (auto& p : f.peers) {
    Rpc graft;
    graft.graft.push_back(Graft{"t"});
    f.router.handle_rpc(p.id, std::move(graft), t0());
    refused += test::outbound_for(f.router, p.id).prune.size();
  }
  EXPECT_EQ(f.router.mesh("t").size(), 12u);
  EXPECT_EQ(refused, 8u);
}

TEST(GossipsubRouter, DeliversOnceAndForwardsToMesh) {
  Fixture f(20);
  f.router.take_outbound();
  test::Identity author;
  auto message = test::signed_message(author, "t", "hello", 1);
  const auto& source = f.peers[0].id;
  f.router.handle_rpc(source, test::publish_rpc(message), t0());
  f.router.handle_rpc(f.peers[1].id, test::publish_rpc(message), t0());  // duplicate
  auto deliveries = f.router.take_deliveries();
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_EQ(deliveries[0].message, message);
  EXPECT_EQ(deliveries[0].received_from, source);
  EXPECT_EQ(f.router.stats().duplicates, 1u);
  for (auto& [peer, rpc] : f.router.take_outbound()) {
    EXPECT_TRUE(f.in_mesh(peer));
    EXPECT_NE(peer, source);
    EXPECT_EQ(rpc.publish.size(), 1u);
  }
}

TEST(GossipsubRouter, BadSignatureIsRejectedPenalisedAndGraylists) {
  Fixture f(8);
  f.router.take_outbound();
  test::Identity author;
  auto forged = test::signed_message(author, "t", "hello", 1);
  forged.data = to_bytes("evil");
  const auto& liar = f.peers[0].id;
  f.router.handle_rpc(liar, test::publish_rpc(forged), t0());
  EXPECT_TRUE(f.router.take_deliveries().empty());
  EXPECT_EQ(f.router.stats().rejected[static_cast<std::size_t>(Rejection::bad_signature)], 1u);
  EXPECT_LT(f.router.score(liar, t0()), f.router.config().score.graylist_threshold);
  // Graylisted: even a valid message from it is ignored now.
  f.router.handle_rpc(liar, test::publish_rpc(test::signed_message(author, "t", "ok", 2)), t0());
  EXPECT_TRUE(f.router.take_deliveries().empty());
  EXPECT_EQ(f.router.stats().graylisted_rpcs, 1u);
  // The same from a well-behaved peer is delivered, and the liar leaves the mesh at the heartbeat.
  f.router.handle_rpc(f.peers[1].id, test::publish_rpc(test::signed_message(author, "t", "ok", 2)), t0());
  EXPECT_EQ(f.router.take_deliveries().size(), 1u);
  f.router.heartbeat(t0() + 1s);
  EXPECT_FALSE(f.in_mesh(liar));
}

TEST(GossipsubRouter, IHaveIsAnsweredWithIWantAndIWantServedFromCache) {
  Fixture f(20);
  f.router.take_outbound();
  test::Identity author;
  // An IHAVE for a message we lack is answered with IWANT.
  auto message = test::signed_message(author, "t", "x", 9);
  const auto id = message_id(message);
  Rpc ihave;
  ihave.ihave.push_back(IHave{"t", {id_bytes(id)}});
  f.router.handle_rpc(f.peers[0].id, ihave, t0());
  auto answer = test::outbound_for(f.router, f.peers[0].id);
  ASSERT_EQ(answer.iwant.size(), 1u);
  EXPECT_EQ(answer.iwant[0].ids, std::vector<Bytes>{id_bytes(id)});

  // Once we have it, an IWANT gets the message from the cache, and our heartbeat gossips it.
  f.router.handle_rpc(f.peers[0].id, test::publish_rpc(message), t0());
  f.router.take_outbound();
  Rpc iwant;
  iwant.iwant.push_back(IWant{{id_bytes(id)}});
  f.router.handle_rpc(f.peers[1].id, iwant, t0());
  auto served = test::outbound_for(f.router, f.peers[1].id);
  ASSERT_EQ(served.publish.size(), 1u);
  EXPECT_EQ(served.publish[0], message);
  f.router.heartbeat(t0() + 1s);
  std::size_t gossiped = 0;
  for (auto& [peer, rpc] : f.router.take_outbound()) {
    if (rpc.ihave.empty()) continue;
    EXPECT_FALSE(f.in_mesh(peer));
    EXPECT_EQ(rpc.ihave[0].ids, std::vector<Bytes>{id_bytes(id)});
    ++gossiped;
  }
  EXPECT_EQ(gossiped, 6u);  // D_lazy of the 14 peers outside the mesh
  // An IHAVE for something already seen asks for nothing.
  f.router.handle_rpc(f.peers[2].id, ihave, t0() + 1s);
  EXPECT_TRUE(test::outbound_for(f.router, f.peers[2].id).iwant.empty());
}

TEST(GossipsubRouter, IHaveFloodIsBounded) {
  RouterConfig config;
  config.max_ihave_messages = 2;
  Fixture f(8, config);
  f.router.take_outbound();
  test::Identity author;
  std::size_t iwants = 0;
  for (int i = 0; i < 5; ++i) {
    Rpc ihave;
    ihave.ihave.push_back(IHave{"t", {id_bytes(message_id(test::signed_message(author, "t", "x", 100 + i)))}});
    f.router.handle_rpc(f.peers[0].id, ihave, t0());
    iwants += test::outbound_for(f.router, f.peers[0].id).iwant.size();
  }
  EXPECT_EQ(iwants, 2u);
}

TEST(GossipsubRouter, BackoffAfterPruneIsRespected) {
  Fixture f(5);
  ASSERT_EQ(f.router.mesh("t").size(), 5u);
  const auto pruner = f.router.mesh("t")[0];
  Rpc prune;
  prune.prune.push_back(Prune{"t", {}, 30});
  f.router.handle_rpc(pruner, prune, t0());
  EXPECT_FALSE(f.in_mesh(pruner));
  EXPECT_TRUE(f.router.in_backoff(pruner, "t", t0() + 29s));
  // The mesh is below D_lo, but the only candidate is in backoff.
  f.router.heartbeat(t0() + 10s);
  EXPECT_FALSE(f.in_mesh(pruner));
  f.router.heartbeat(t0() + 31s);
  EXPECT_TRUE(f.in_mesh(pruner));
}

TEST(GossipsubRouter, GraftDuringOurBackoffIsPenalised) {
  Fixture f(6);
  f.router.unsubscribe("t", t0());
  f.router.subscribe("t", t0() + 1s);  // everyone is in the unsubscribe backoff (10 s)
  EXPECT_TRUE(f.router.mesh("t").empty());
  f.router.take_outbound();
  Rpc graft;
  graft.graft.push_back(Graft{"t"});
  f.router.handle_rpc(f.peers[0].id, graft, t0() + 2s);
  EXPECT_FALSE(f.in_mesh(f.peers[0].id));
  EXPECT_EQ(f.router.stats().backoff_violations, 1u);
  EXPECT_LT(f.router.score(f.peers[0].id, t0() + 2s), 0);
  EXPECT_EQ(test::outbound_for(f.router, f.peers[0].id).prune.size(), 1u);
}

TEST(GossipsubRouter, PeerExchangeOnlyFromWellScoredPeers) {
  Fixture f(6);
  test::Identity stranger;
  Rpc prune;
  prune.prune.push_back(Prune{"t", {stranger.id}, 60});
  f.router.handle_rpc(f.peers[0].id, prune, t0());
  EXPECT_TRUE(f.router.take_px_candidates().empty());  // score 0 < accept_px_threshold
  RouterConfig trusting;
  trusting.score.accept_px_threshold = 0;
  Fixture g(6, trusting);
  g.router.handle_rpc(g.peers[0].id, prune, t0());
  EXPECT_EQ(g.router.take_px_candidates(), std::vector<crypto::PeerId>{stranger.id});
}

TEST(GossipsubRouter, PublishSignsAndFloodsToSubscribers) {
  Fixture f(20);
  f.router.take_outbound();
  auto id = f.router.publish("t", to_bytes("hi"), t0());
  ASSERT_TRUE(id);
  std::size_t copies = 0;
  for (auto& [peer, rpc] : f.router.take_outbound()) {
    ASSERT_EQ(rpc.publish.size(), 1u);
    EXPECT_EQ(check_signature(rpc.publish[0]), std::nullopt);
    EXPECT_EQ(message_id(rpc.publish[0]), *id);
    ++copies;
  }
  EXPECT_EQ(copies, 20u);  // flood publishing
  EXPECT_FALSE(f.router.publish("t", Bytes(f.router.config().max_message_size + 1), t0()));
}

TEST(GossipsubRouter, FanoutWithoutFloodPublish) {
  RouterConfig config;
  config.flood_publish = false;
  Router router(crypto::Ed25519PrivateKey::generate(), config, 1, 7);
  std::vector<test::Identity> peers(10);
  for (auto& p : peers) {
    router.add_peer(p.id, PeerKind::meshsub_v11, false, t0());
    router.handle_rpc(p.id, test::subscribe_rpc("t"), t0());
  }
  ASSERT_TRUE(router.publish("t", to_bytes("hi"), t0()));
  EXPECT_EQ(router.fanout("t").size(), 6u);
  EXPECT_EQ(router.take_outbound().size(), 6u);
  router.heartbeat(t0() + 61s);
  EXPECT_TRUE(router.fanout("t").empty());  // fanout TTL
}

TEST(GossipsubRouter, FloodsubPeersGetMessagesButNoControl) {
  Router router(crypto::Ed25519PrivateKey::generate(), {}, 1, 3);
  test::Identity flood, mesh, author;
  router.add_peer(flood.id, PeerKind::floodsub, false, t0());
  router.add_peer(mesh.id, PeerKind::meshsub_v11, false, t0());
  router.handle_rpc(flood.id, test::subscribe_rpc("t"), t0());
  router.handle_rpc(mesh.id, test::subscribe_rpc("t"), t0());
  router.subscribe("t", t0());
  EXPECT_EQ(router.mesh("t"), std::vector<crypto::PeerId>{mesh.id});
  EXPECT_TRUE(test::outbound_for(router, flood.id).graft.empty());
  router.handle_rpc(mesh.id, test::publish_rpc(test::signed_message(author, "t", "x", 1)), t0());
  EXPECT_EQ(test::outbound_for(router, flood.id).publish.size(), 1u);
  // A floodsub peer's control messages are ignored.
  Rpc graft;
  graft.graft.push_back(Graft{"t"});
  router.handle_rpc(flood.id, graft, t0());
  EXPECT_EQ(router.mesh("t").size(), 1u);
}

TEST(GossipsubRouter, MessagesInOtherTopicsAndPeerTopicsAreBounded) {
  RouterConfig config;
  config.max_topics_per_peer = 2;
  Router router(crypto::Ed25519PrivateKey::generate(), config, 1, 3);
  test::Identity peer, author;
  router.add_peer(peer.id, PeerKind::meshsub_v11, false, t0());
  Rpc subs;
  for (const char* topic : {"a", "b", "c"}) subs.subscriptions.push_back(SubOpt{true, topic});
  router.handle_rpc(peer.id, subs, t0());
  EXPECT_EQ(router.stats().topics_refused, 1u);
  EXPECT_TRUE(router.peers("c").empty());
  router.handle_rpc(peer.id, test::publish_rpc(test::signed_message(author, "a", "x", 1)), t0());
  EXPECT_TRUE(router.take_deliveries().empty());
  EXPECT_EQ(router.stats().unsubscribed_topic, 1u);
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
