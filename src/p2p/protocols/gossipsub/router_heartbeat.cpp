// The heartbeat (gossipsub-v1.0.md "Heartbeat", v1.1 additions): keep each mesh between D_lo and
// D_hi (dropping negatively scored peers, keeping the best D_score when pruning), grow meshes of
// poor median score by opportunistic grafting, expire fanout, send IHAVE gossip to D_lazy other
// peers, then shift the message cache and forget old seen IDs and backoffs.
#include "p2p/protocols/gossipsub/router.hpp"

#include <algorithm>
#include <cmath>

namespace stargate::p2p::gossipsub {

std::vector<crypto::PeerId> Router::pick_peers(const std::string& topic, std::size_t n, const PeerSet& exclude,
                                               const std::function<bool(const crypto::PeerId&)>& accept) {
  std::vector<crypto::PeerId> out;
  if (n == 0) return out;
  auto it = topic_peers_.find(topic);
  if (it == topic_peers_.end()) return out;
  for (const auto& peer : it->second)
    if (!exclude.count(peer) && is_meshsub(peer) && accept(peer)) out.push_back(peer);
  std::shuffle(out.begin(), out.end(), rng_);
  if (out.size() > n) out.resize(n);
  return out;
}

void Router::heartbeat(TimePoint now) {
  ++heartbeats_;
  score_.maybe_decay(now);
  for (auto& [peer, state] : peers_) {
    state.ihaves_this_heartbeat = 0;
    state.ids_asked_this_heartbeat = 0;
  }
  for (auto& [topic, mesh] : mesh_) maintain_mesh(topic, mesh, now);
  maintain_fanout(now);
  emit_gossip(now);
  mcache_.shift();
  seen_.expire(now);
  std::erase_if(backoff_, [&](const auto& entry) { return entry.second <= now; });
}

void Router::maintain_mesh(const std::string& topic, PeerSet& mesh, TimePoint now) {
  auto score_of = [&](const crypto::PeerId& p) { return score_.score(p, now); };
  auto prune = [&](const crypto::PeerId& peer, bool with_px) {
    mesh.erase(peer);
    score_.prune(peer, topic);
    send_prune(peer, topic, config_.prune_backoff, with_px, now);
  };
  // Peers that went negative leave the mesh (without PX: we do not vouch for their friends).
  std::vector<crypto::PeerId> negative;
  for (const auto& peer : mesh)
    if (score_of(peer) < 0) negative.push_back(peer);
  for (const auto& peer : negative) prune(peer, false);

  auto graft_more = [&](std::size_t n, const std::function<bool(const crypto::PeerId&)>& accept) {
    for (const auto& peer : pick_peers(topic, n, mesh, accept)) {
      mesh.insert(peer);
      score_.graft(peer, topic, now);
      send_graft(peer, topic);
    }
  };
  if (mesh.size() < config_.D_lo) {
    graft_more(config_.D - mesh.size(),
               [&](const crypto::PeerId& p) { return score_of(p) >= 0 && !in_backoff(p, topic, now); });
  }
  if (mesh.size() > config_.D_hi) {
    // Keep the D_score best, then random others up to D.
    std::vector<crypto::PeerId> ranked(mesh.begin(), mesh.end());
    std::shuffle(ranked.begin(), ranked.end(), rng_);
    std::stable_sort(ranked.begin(), ranked.end(),
                     [&](const crypto::PeerId& a, const crypto::PeerId& b) { return score_of(a) > score_of(b); });
    std::shuffle(ranked.begin() + static_cast<std::ptrdiff_t>(std::min(config_.D_score, ranked.size())), ranked.end(),
                 rng_);
    for (std::size_t i = config_.D; i < ranked.size(); ++i) prune(ranked[i], true);
  }
  // Opportunistic grafting (v1.1): a mesh whose median score is poor gets a few better peers.
  if (config_.opportunistic_graft_ticks && heartbeats_ % config_.opportunistic_graft_ticks == 0 && mesh.size() > 1) {
    std::vector<double> scores;
    for (const auto& peer : mesh) scores.push_back(score_of(peer));
    std::nth_element(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(scores.size() / 2), scores.end());
    const double median = scores[scores.size() / 2];
    if (median < config_.score.opportunistic_graft_threshold) {
      graft_more(config_.opportunistic_graft_peers,
                 [&](const crypto::PeerId& p) { return score_of(p) > median && !in_backoff(p, topic, now); });
    }
  }
}

void Router::maintain_fanout(TimePoint now) {
  for (auto it = fanout_last_publish_.begin(); it != fanout_last_publish_.end();) {
    if (now - it->second >= config_.fanout_ttl) {
      fanout_.erase(it->first);
      it = fanout_last_publish_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [topic, fanout] : fanout_) {
    auto subscribers = topic_peers_.find(topic);
    std::erase_if(fanout, [&](const crypto::PeerId& peer) {
      return subscribers == topic_peers_.end() || !subscribers->second.count(peer) ||
             score_.score(peer, now) < config_.score.publish_threshold;
    });
    if (fanout.size() < config_.D) {
      auto more = pick_peers(topic, config_.D - fanout.size(), fanout, [&](const crypto::PeerId& p) {
        return score_.score(p, now) >= config_.score.publish_threshold;
      });
      fanout.insert(more.begin(), more.end());
    }
  }
}

void Router::emit_gossip(TimePoint now) {
  for (const auto& topic : mcache_.gossip_topics()) {
    const PeerSet* excluded = nullptr;
    if (auto m = mesh_.find(topic); m != mesh_.end()) excluded = &m->second;
    else if (auto f = fanout_.find(topic); f != fanout_.end()) excluded = &f->second;
    else continue;  // neither joined nor published to lately: nothing of ours to gossip
    auto ids = mcache_.gossip_ids(topic);
    if (ids.empty()) continue;
    if (ids.size() > config_.max_ihave_length) {
      std::shuffle(ids.begin(), ids.end(), rng_);
      ids.resize(config_.max_ihave_length);
    }
    auto candidates = pick_peers(topic, SIZE_MAX, *excluded, [&](const crypto::PeerId& p) {
      return score_.score(p, now) >= config_.score.gossip_threshold;
    });
    const auto by_factor = static_cast<std::size_t>(std::ceil(config_.gossip_factor * static_cast<double>(candidates.size())));
    candidates.resize(std::min(candidates.size(), std::max(config_.D_lazy, by_factor)));
    for (const auto& peer : candidates) {
      IHave ihave{topic, {}};
      for (const auto& id : ids) ihave.ids.push_back(id_bytes(id));
      Rpc rpc;
      rpc.ihave.push_back(std::move(ihave));
      queue(peer, std::move(rpc));
      ++stats_.ihave_sent;
    }
  }
}

}  // namespace stargate::p2p::gossipsub
