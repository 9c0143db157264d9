#pragma once
// Router parameters, spec defaults (gossipsub-v1.0.md "Parameters", gossipsub-v1.1.md), plus the
// bounds that keep a hostile peer from growing our state.
#include "p2p/protocols/gossipsub/messages.hpp"
#include "p2p/protocols/gossipsub/peer_score.hpp"
#include "p2p/protocols/gossipsub/time.hpp"

#include <cstddef>

namespace stargate::p2p::gossipsub {

struct RouterConfig {
  std::size_t D = 6;        // target mesh degree
  std::size_t D_lo = 5;     // graft below this
  std::size_t D_hi = 12;    // prune above this
  std::size_t D_lazy = 6;   // peers to gossip to (at least)
  std::size_t D_score = 4;  // mesh peers kept by score when pruning
  double gossip_factor = 0.25;  // or this share of eligible peers, when more
  Duration heartbeat_interval = std::chrono::seconds(1);
  Duration fanout_ttl = std::chrono::seconds(60);
  std::size_t mcache_len = 5;
  std::size_t mcache_gossip = 3;
  std::size_t gossip_retransmission = 3;  // IWANT answers per message and peer
  Duration seen_ttl = std::chrono::minutes(2);
  std::size_t seen_max = 100'000;
  Duration prune_backoff = std::chrono::minutes(1);
  Duration unsubscribe_backoff = std::chrono::seconds(10);
  // A GRAFT this soon after our PRUNE is penalised twice (v1.1 "graft flood").
  Duration graft_flood_threshold = std::chrono::seconds(10);
  std::size_t prune_peers = 16;        // PX peers sent in one PRUNE
  std::size_t max_px_candidates = 64;  // PX peers kept for the I/O layer to dial
  // IHAVE handling per peer and heartbeat (v1.1 "Spam protection"): IHAVE RPCs accepted, and
  // message IDs asked for with IWANT.
  std::size_t max_ihave_messages = 10;
  std::size_t max_ihave_length = 5000;
  // v1.1 flood publishing: our own messages go to every subscribed peer above publish_threshold.
  bool flood_publish = true;
  std::size_t opportunistic_graft_ticks = 60;
  std::size_t opportunistic_graft_peers = 2;
  std::size_t max_topics_per_peer = 256;  // subscriptions a peer may announce
  std::size_t max_peers = 1024;
  std::size_t max_message_size = 1 << 20;  // data of one published message
  Limits limits;
  ScoreParams score;
};

}  // namespace stargate::p2p::gossipsub
