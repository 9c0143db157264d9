// The router's control messages: IHAVE / IWANT (gossip) and GRAFT / PRUNE (mesh membership),
// with the v1.1 protections: IHAVE flood limits, backoff after PRUNE, peer exchange only from
// well-scored peers.
#include "p2p/protocols/gossipsub/router.hpp"

#include <algorithm>

namespace stargate::p2p::gossipsub {

bool Router::in_backoff(const crypto::PeerId& peer, const std::string& topic, TimePoint now) const {
  auto it = backoff_.find({topic, peer});
  return it != backoff_.end() && now < it->second;
}

void Router::set_backoff(const crypto::PeerId& peer, const std::string& topic, TimePoint until) {
  auto& entry = backoff_[{topic, peer}];
  entry = std::max(entry, until);
}

void Router::send_graft(const crypto::PeerId& peer, const std::string& topic) {
  Rpc rpc;
  rpc.graft.push_back(Graft{topic});
  queue(peer, std::move(rpc));
  ++stats_.graft_sent;
}

void Router::send_prune(const crypto::PeerId& peer, const std::string& topic, Duration backoff, bool with_px,
                        TimePoint now) {
  set_backoff(peer, topic, now + backoff);
  Prune prune{topic, {}, std::nullopt};
  auto it = peers_.find(peer);
  // v1.0 peers know neither peer exchange nor the backoff field.
  if (it != peers_.end() && it->second.kind == PeerKind::meshsub_v11) {
    prune.backoff_seconds = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(backoff).count());
    if (with_px) {
      PeerSet exclude{peer};
      prune.peers = pick_peers(topic, config_.prune_peers, exclude,
                               [&](const crypto::PeerId& p) { return score_.score(p, now) >= 0; });
    }
  }
  Rpc rpc;
  rpc.prune.push_back(std::move(prune));
  queue(peer, std::move(rpc));
  ++stats_.prune_sent;
}

void Router::handle_ihave(const crypto::PeerId& from, PeerState& state, const std::vector<IHave>& ihaves,
                          TimePoint now) {
  if (ihaves.empty()) return;
  if (score_.score(from, now) < config_.score.gossip_threshold) return;
  if (++state.ihaves_this_heartbeat > config_.max_ihave_messages) return;
  if (state.ids_asked_this_heartbeat >= config_.max_ihave_length) return;
  std::vector<Bytes> wanted;
  for (const auto& ihave : ihaves) {
    if (!mesh_.count(ihave.topic)) continue;
    for (const auto& raw : ihave.ids) {
      const MessageId id = id_from_bytes(raw);
      if (seen_.contains(id)) continue;
      if (std::find(wanted.begin(), wanted.end(), raw) == wanted.end()) wanted.push_back(raw);
    }
  }
  const std::size_t budget = config_.max_ihave_length - state.ids_asked_this_heartbeat;
  if (wanted.size() > budget) {
    std::shuffle(wanted.begin(), wanted.end(), rng_);
    wanted.resize(budget);
  }
  if (wanted.empty()) return;
  state.ids_asked_this_heartbeat += wanted.size();
  Rpc rpc;
  rpc.iwant.push_back(IWant{std::move(wanted)});
  queue(from, std::move(rpc));
  ++stats_.iwant_sent;
}

void Router::handle_iwant(const crypto::PeerId& from, const std::vector<IWant>& iwants, TimePoint now) {
  if (iwants.empty()) return;
  if (score_.score(from, now) < config_.score.gossip_threshold) return;
  Rpc rpc;
  for (const auto& iwant : iwants) {
    for (const auto& raw : iwant.ids) {
      if (const Message* message = mcache_.serve(id_from_bytes(raw), from)) {
        rpc.publish.push_back(*message);
        ++stats_.iwant_served;
      }
    }
  }
  queue(from, std::move(rpc));
}

void Router::handle_graft(const crypto::PeerId& from, const PeerState& state, const Graft& graft, TimePoint now) {
  auto m = mesh_.find(graft.topic);
  if (m == mesh_.end()) {
    // Not our topic: refuse without PX, as the spec says, and without a backoff entry we would
    // have to keep for a topic we do not follow.
    Rpc rpc;
    rpc.prune.push_back(Prune{graft.topic, {}, std::nullopt});
    queue(from, std::move(rpc));
    ++stats_.prune_sent;
    return;
  }
  if (m->second.count(from)) return;
  if (auto b = backoff_.find({graft.topic, from}); b != backoff_.end() && now < b->second) {
    // GRAFT during our backoff: a behaviour penalty, twice when right after our PRUNE.
    ++stats_.backoff_violations;
    score_.behaviour_penalty(from);
    if (b->second - now > config_.prune_backoff - config_.graft_flood_threshold) score_.behaviour_penalty(from);
    send_prune(from, graft.topic, config_.prune_backoff, false, now);
    return;
  }
  if (score_.score(from, now) < 0) {
    send_prune(from, graft.topic, config_.prune_backoff, false, now);
    return;
  }
  if (m->second.size() >= config_.D_hi && !state.outbound) {
    send_prune(from, graft.topic, config_.prune_backoff, true, now);
    return;
  }
  m->second.insert(from);
  score_.graft(from, graft.topic, now);
}

void Router::handle_prune(const crypto::PeerId& from, const Prune& prune, TimePoint now) {
  auto m = mesh_.find(prune.topic);
  if (m == mesh_.end()) return;
  if (m->second.erase(from)) score_.prune(from, prune.topic);
  Duration backoff = config_.prune_backoff;
  if (prune.backoff_seconds) {
    // Bounded, so a peer cannot make the entry outlive reason (a day at most).
    const auto seconds = std::min<std::uint64_t>(*prune.backoff_seconds, 24 * 3600);
    backoff = std::chrono::seconds(static_cast<std::int64_t>(seconds));
  }
  set_backoff(from, prune.topic, now + backoff);
  if (prune.peers.empty() || score_.score(from, now) < config_.score.accept_px_threshold) return;
  for (const auto& peer : prune.peers) {
    if (px_candidates_.size() >= config_.max_px_candidates) break;
    if (peer == self_ || peers_.count(peer)) continue;
    if (std::find(px_candidates_.begin(), px_candidates_.end(), peer) == px_candidates_.end())
      px_candidates_.push_back(peer);
  }
}

}  // namespace stargate::p2p::gossipsub
