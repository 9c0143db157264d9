#pragma once
// Peer scoring (gossipsub-v1.1.md, "Peer Scoring"): per topic P1 time in mesh, P2 first message
// deliveries, P3 mesh message delivery deficit, P3b its sticky mesh failure penalty and P4 invalid
// messages; per peer P7 behaviour penalty. Counters decay every decay interval and are dropped
// below `decay_to_zero`. The router compares scores with the thresholds: below gossip_threshold a
// peer's gossip is ignored, below publish_threshold it gets no flood-published messages, below
// graylist_threshold all its RPCs are ignored. P5 (application) and P6 (IP colocation) are not
// computed: there is no application score, and the host bounds connections per IP instead.
#include "crypto/peer_id.hpp"
#include "p2p/protocols/gossipsub/time.hpp"

#include <string>
#include <unordered_map>

namespace stargate::p2p::gossipsub {

// The spec leaves values to the application; these defaults follow go-libp2p's examples and make
// one invalid message enough to graylist a peer. P3 is off by default (weight 0): on a quiet topic
// every mesh peer would look like it withholds messages.
struct TopicScoreParams {
  double topic_weight = 1.0;
  double time_in_mesh_weight = 0.01;
  Duration time_in_mesh_quantum = std::chrono::seconds(1);
  double time_in_mesh_cap = 3600;
  double first_message_deliveries_weight = 1.0;
  double first_message_deliveries_decay = 0.5;
  double first_message_deliveries_cap = 100;
  double mesh_message_deliveries_weight = 0.0;  // negative to enable P3
  double mesh_message_deliveries_decay = 0.5;
  double mesh_message_deliveries_threshold = 1;
  double mesh_message_deliveries_cap = 100;
  Duration mesh_message_deliveries_activation = std::chrono::seconds(5);
  Duration mesh_message_deliveries_window = std::chrono::milliseconds(10);
  double mesh_failure_penalty_weight = 0.0;  // negative to enable P3b
  double mesh_failure_penalty_decay = 0.5;
  double invalid_message_deliveries_weight = -100;
  double invalid_message_deliveries_decay = 0.3;
};

struct ScoreParams {
  TopicScoreParams topic;  // the same parameters for every topic
  double behaviour_penalty_weight = -10;
  double behaviour_penalty_threshold = 0;
  double behaviour_penalty_decay = 0.9;
  Duration decay_interval = std::chrono::seconds(1);
  double decay_to_zero = 0.01;
  // Thresholds (gossip >= publish >= graylist, all <= 0; accept_px >= 0).
  double gossip_threshold = -10;
  double publish_threshold = -50;
  double graylist_threshold = -80;
  double accept_px_threshold = 10;
  double opportunistic_graft_threshold = 5;
};

class PeerScore {
 public:
  explicit PeerScore(ScoreParams params = {}) : params_(std::move(params)) {}
  const ScoreParams& params() const { return params_; }

  void add_peer(const crypto::PeerId& peer);
  void remove_peer(const crypto::PeerId& peer);
  void graft(const crypto::PeerId& peer, const std::string& topic, TimePoint now);
  void prune(const crypto::PeerId& peer, const std::string& topic);
  // A valid message first delivered by `peer`.
  void first_delivery(const crypto::PeerId& peer, const std::string& topic);
  // A duplicate from `peer`, `first_seen` being when the message first arrived from anyone: it
  // counts for P3 when it came within the mesh delivery window.
  void duplicate_delivery(const crypto::PeerId& peer, const std::string& topic, TimePoint first_seen, TimePoint now);
  void invalid_message(const crypto::PeerId& peer, const std::string& topic);
  void behaviour_penalty(const crypto::PeerId& peer, double count = 1);

  double score(const crypto::PeerId& peer, TimePoint now) const;
  // Decays every counter when a decay interval has passed since the last decay.
  void maybe_decay(TimePoint now);
  // Topics tracked for `peer` (bounded by the router's topics per peer).
  std::size_t topics(const crypto::PeerId& peer) const;

 private:
  struct TopicStats {
    bool in_mesh = false;
    TimePoint grafted{};
    double first_deliveries = 0;
    double mesh_deliveries = 0;
    double mesh_failure_penalty = 0;
    double invalid_deliveries = 0;
  };
  struct Stats {
    std::unordered_map<std::string, TopicStats> topics;
    double behaviour_penalty = 0;
  };
  TopicStats* topic_stats(const crypto::PeerId& peer, const std::string& topic);
  void decay(double& value, double factor) const;
  double deficit_squared(const TopicStats& t, TimePoint now) const;

  ScoreParams params_;
  std::unordered_map<crypto::PeerId, Stats> peers_;
  TimePoint last_decay_{};
  bool decayed_once_ = false;
};

}  // namespace stargate::p2p::gossipsub
