#include "p2p/protocols/gossipsub/router.hpp"

#include <algorithm>

namespace stargate::p2p::gossipsub {

std::optional<PeerKind> peer_kind(std::string_view protocol) {
  if (protocol == kMeshsubV11) return PeerKind::meshsub_v11;
  if (protocol == kMeshsubV10) return PeerKind::meshsub_v10;
  if (protocol == kFloodsub) return PeerKind::floodsub;
  return std::nullopt;
}

Router::Router(crypto::Ed25519PrivateKey key, RouterConfig config, std::uint64_t first_seqno,
               std::uint64_t random_seed)
    : key_(std::move(key)),
      self_(crypto::PeerId::from_public_key(key_.public_key())),
      config_(std::move(config)),
      next_seqno_(first_seqno),
      rng_(random_seed),
      score_(config_.score),
      seen_(config_.seen_ttl, config_.seen_max),
      mcache_(config_.mcache_len, config_.mcache_gossip, config_.gossip_retransmission) {}

void Router::queue(const crypto::PeerId& peer, Rpc rpc) {
  if (!peers_.count(peer) || rpc.empty()) return;
  outbound_[peer].merge(std::move(rpc));
}

bool Router::is_meshsub(const crypto::PeerId& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.kind != PeerKind::floodsub;
}

void Router::add_peer(const crypto::PeerId& peer, PeerKind kind, bool outbound, TimePoint) {
  if (peer == self_ || peers_.count(peer) || peers_.size() >= config_.max_peers) return;
  peers_.emplace(peer, PeerState{kind, outbound, {}, 0, 0});
  score_.add_peer(peer);
  Rpc hello;
  for (const auto& topic : subscriptions_) hello.subscriptions.push_back(SubOpt{true, topic});
  queue(peer, std::move(hello));
}

void Router::remove_peer(const crypto::PeerId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  for (const auto& topic : it->second.topics) {
    topic_peers_[topic].erase(peer);
    if (topic_peers_[topic].empty()) topic_peers_.erase(topic);
  }
  for (auto* table : {&mesh_, &fanout_})
    for (auto& [topic, members] : *table) members.erase(peer);
  peers_.erase(it);
  score_.remove_peer(peer);
  outbound_.erase(peer);
}

void Router::handle_rpc(const crypto::PeerId& from, Rpc rpc, TimePoint now) {
  auto it = peers_.find(from);
  if (it == peers_.end()) return;
  if (score_.score(from, now) < config_.score.graylist_threshold) {
    ++stats_.graylisted_rpcs;
    return;
  }
  for (const auto& sub : rpc.subscriptions) handle_subscription(from, it->second, sub);
  for (auto& message : rpc.publish) handle_message(from, std::move(message), now);
  // Control messages mean nothing to a floodsub peer; a meshsub peer's are handled in the
  // spec's order: gossip first, then mesh changes.
  if (it->second.kind == PeerKind::floodsub || !rpc.has_control()) return;
  handle_ihave(from, it->second, rpc.ihave, now);
  handle_iwant(from, rpc.iwant, now);
  for (const auto& graft : rpc.graft) handle_graft(from, it->second, graft, now);
  for (const auto& prune : rpc.prune) handle_prune(from, prune, now);
}

void Router::handle_subscription(const crypto::PeerId& from, PeerState& state, const SubOpt& sub) {
  if (sub.subscribe) {
    if (state.topics.count(sub.topic)) return;
    if (state.topics.size() >= config_.max_topics_per_peer) {
      ++stats_.topics_refused;
      return;
    }
    state.topics.insert(sub.topic);
    topic_peers_[sub.topic].insert(from);
    return;
  }
  if (!state.topics.erase(sub.topic)) return;
  auto it = topic_peers_.find(sub.topic);
  if (it != topic_peers_.end()) {
    it->second.erase(from);
    if (it->second.empty()) topic_peers_.erase(it);
  }
  if (auto m = mesh_.find(sub.topic); m != mesh_.end() && m->second.erase(from)) score_.prune(from, sub.topic);
  if (auto f = fanout_.find(sub.topic); f != fanout_.end()) f->second.erase(from);
}

void Router::handle_message(const crypto::PeerId& from, Message message, TimePoint now) {
  // Topics we do not follow are neither validated nor forwarded: it bounds the work a peer can
  // make us do, and the scores we keep, to our own subscriptions.
  if (!subscriptions_.count(message.topic)) {
    ++stats_.unsubscribed_topic;
    return;
  }
  const MessageId id = message_id(message);
  if (const TimePoint* first = seen_.first_seen(id)) {
    ++stats_.duplicates;
    score_.duplicate_delivery(from, message.topic, *first, now);
    return;
  }
  if (auto rejection = check_signature(message)) {
    ++stats_.rejected[static_cast<std::size_t>(*rejection)];
    score_.invalid_message(from, message.topic);
    return;
  }
  if (message.data.size() > config_.max_message_size) return;
  seen_.insert(id, now);
  score_.first_delivery(from, message.topic);
  mcache_.put(id, message);
  forward(id, message, &from);
  ++stats_.delivered;
  deliveries_.push_back(Delivery{id, std::move(message), from});
}

void Router::forward(const MessageId&, const Message& message, const crypto::PeerId* source) {
  PeerSet targets;
  if (auto m = mesh_.find(message.topic); m != mesh_.end()) targets = m->second;
  if (auto t = topic_peers_.find(message.topic); t != topic_peers_.end()) {
    for (const auto& peer : t->second)
      if (!is_meshsub(peer)) targets.insert(peer);
  }
  for (const auto& peer : targets) {
    if ((source && peer == *source) || peer.bytes() == message.from) continue;
    Rpc rpc;
    rpc.publish.push_back(message);
    queue(peer, std::move(rpc));
    ++stats_.forwarded;
  }
}

void Router::subscribe(const std::string& topic, TimePoint now) {
  if (!subscriptions_.insert(topic).second) return;
  for (const auto& [peer, state] : peers_) {
    Rpc rpc;
    rpc.subscriptions.push_back(SubOpt{true, topic});
    queue(peer, std::move(rpc));
  }
  // Join (gossipsub-v1.0.md): start from the fanout peers, then fill up to D.
  auto& mesh = mesh_[topic];
  if (auto f = fanout_.find(topic); f != fanout_.end()) {
    for (const auto& peer : f->second) {
      if (mesh.size() >= config_.D) break;
      if (score_.score(peer, now) >= 0 && !in_backoff(peer, topic, now)) mesh.insert(peer);
    }
    fanout_.erase(f);
    fanout_last_publish_.erase(topic);
  }
  const auto more = pick_peers(topic, config_.D - std::min(config_.D, mesh.size()), mesh, [&](const crypto::PeerId& p) {
    return score_.score(p, now) >= 0 && !in_backoff(p, topic, now);
  });
  mesh.insert(more.begin(), more.end());
  for (const auto& peer : mesh) {
    score_.graft(peer, topic, now);
    send_graft(peer, topic);
  }
}

void Router::unsubscribe(const std::string& topic, TimePoint now) {
  if (!subscriptions_.erase(topic)) return;
  for (const auto& [peer, state] : peers_) {
    Rpc rpc;
    rpc.subscriptions.push_back(SubOpt{false, topic});
    queue(peer, std::move(rpc));
  }
  auto m = mesh_.find(topic);
  if (m == mesh_.end()) return;
  for (const auto& peer : m->second) {
    score_.prune(peer, topic);
    send_prune(peer, topic, config_.unsubscribe_backoff, false, now);
  }
  mesh_.erase(m);
}

Result<MessageId> Router::publish(const std::string& topic, Bytes data, TimePoint now) {
  if (data.size() > config_.max_message_size)
    return make_error("gossipsub publish: " + std::to_string(data.size()) + " bytes (at most " +
                      std::to_string(config_.max_message_size) + ")");
  if (topic.empty() || topic.size() > config_.limits.max_topic_size)
    return make_error("gossipsub publish: empty or oversized topic");
  Message message = make_signed_message(key_, self_, topic, std::move(data), next_seqno_++);
  const MessageId id = message_id(message);
  seen_.insert(id, now);
  mcache_.put(id, message);
  ++stats_.published;

  PeerSet targets;
  auto subscribers = topic_peers_.find(topic);
  if (subscribers != topic_peers_.end()) {
    for (const auto& peer : subscribers->second) {
      // Floodsub peers always get it; meshsub peers when flood publishing, above publish_threshold.
      if (!is_meshsub(peer)) targets.insert(peer);
      else if (config_.flood_publish && score_.score(peer, now) >= config_.score.publish_threshold) targets.insert(peer);
    }
  }
  if (!config_.flood_publish) {
    if (auto m = mesh_.find(topic); m != mesh_.end()) {
      targets.insert(m->second.begin(), m->second.end());
    } else {
      auto& fanout = fanout_[topic];
      if (fanout.empty()) {
        auto picked = pick_peers(topic, config_.D, {}, [&](const crypto::PeerId& p) {
          return score_.score(p, now) >= config_.score.publish_threshold;
        });
        fanout.insert(picked.begin(), picked.end());
      }
      fanout_last_publish_[topic] = now;
      targets.insert(fanout.begin(), fanout.end());
    }
  }
  for (const auto& peer : targets) {
    Rpc rpc;
    rpc.publish.push_back(message);
    queue(peer, std::move(rpc));
  }
  return Result<MessageId>(boost::system::in_place_value, id);
}

std::vector<std::pair<crypto::PeerId, Rpc>> Router::take_outbound() {
  std::vector<std::pair<crypto::PeerId, Rpc>> out;
  out.reserve(outbound_.size());
  for (auto& [peer, rpc] : outbound_) out.emplace_back(peer, std::move(rpc));
  outbound_.clear();
  return out;
}

std::vector<Delivery> Router::take_deliveries() { return std::exchange(deliveries_, {}); }

std::vector<crypto::PeerId> Router::take_px_candidates() { return std::exchange(px_candidates_, {}); }

namespace {
std::vector<crypto::PeerId> members(const std::unordered_map<std::string, std::set<crypto::PeerId>>& table,
                                    const std::string& topic) {
  auto it = table.find(topic);
  if (it == table.end()) return {};
  return {it->second.begin(), it->second.end()};
}
}  // namespace

std::vector<crypto::PeerId> Router::peers(const std::string& topic) const { return members(topic_peers_, topic); }
std::vector<crypto::PeerId> Router::mesh(const std::string& topic) const { return members(mesh_, topic); }
std::vector<crypto::PeerId> Router::fanout(const std::string& topic) const { return members(fanout_, topic); }

}  // namespace stargate::p2p::gossipsub
