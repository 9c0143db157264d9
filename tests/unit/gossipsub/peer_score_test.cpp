#include "p2p/protocols/gossipsub/peer_score.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::gossipsub {
namespace {

using namespace std::chrono_literals;

TEST(GossipsubPeerScore, TimeInMeshAndFirstDeliveriesRaiseTheScore) {
  test::Identity peer;
  PeerScore score;
  score.add_peer(peer.id);
  score.graft(peer.id, "t", test::t0());
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0()), 0);
  EXPECT_NEAR(score.score(peer.id, test::t0() + 100s), 1.0, 1e-9);  // P1: 100 quanta x 0.01
  score.first_delivery(peer.id, "t");
  EXPECT_NEAR(score.score(peer.id, test::t0() + 100s), 2.0, 1e-9);  // + P2
}

TEST(GossipsubPeerScore, InvalidMessagesAreSquaredAndDecay) {
  test::Identity peer;
  PeerScore score;
  score.add_peer(peer.id);
  score.invalid_message(peer.id, "t");
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0()), -100);
  score.invalid_message(peer.id, "t");
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0()), -400);
  score.maybe_decay(test::t0());
  score.maybe_decay(test::t0() + 1s);  // 2 x 0.3 = 0.6 -> -36
  EXPECT_NEAR(score.score(peer.id, test::t0()), -36, 1e-9);
  for (int i = 2; i < 10; ++i) score.maybe_decay(test::t0() + std::chrono::seconds(i));
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0()), 0);  // decayed to zero
}

TEST(GossipsubPeerScore, BehaviourPenaltyAboveThreshold) {
  test::Identity peer;
  PeerScore score;
  score.add_peer(peer.id);
  score.behaviour_penalty(peer.id, 2);
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0()), -40);
}

TEST(GossipsubPeerScore, MeshDeliveryDeficitWhenEnabled) {
  test::Identity peer;
  ScoreParams params;
  params.topic.time_in_mesh_weight = 0;
  params.topic.mesh_message_deliveries_weight = -1;
  params.topic.mesh_message_deliveries_threshold = 4;
  params.topic.mesh_failure_penalty_weight = -1;
  PeerScore score(params);
  score.add_peer(peer.id);
  score.graft(peer.id, "t", test::t0());
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0() + 1s), 0);  // not yet active
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0() + 10s), -16);
  score.first_delivery(peer.id, "t");
  score.duplicate_delivery(peer.id, "t", test::t0() + 10s, test::t0() + 10s);
  score.duplicate_delivery(peer.id, "t", test::t0(), test::t0() + 10s);  // too late: not counted
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0() + 10s), 1 - 4);     // P2 + P3 (deficit 2)
  score.prune(peer.id, "t");                                            // P3b keeps the deficit
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0() + 10s), 1 - 4);
}

TEST(GossipsubPeerScore, UnknownPeersScoreZero) {
  test::Identity peer;
  PeerScore score;
  score.invalid_message(peer.id, "t");
  EXPECT_DOUBLE_EQ(score.score(peer.id, test::t0()), 0);
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
