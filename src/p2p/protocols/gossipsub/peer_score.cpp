#include "p2p/protocols/gossipsub/peer_score.hpp"

#include <algorithm>

namespace stargate::p2p::gossipsub {

void PeerScore::add_peer(const crypto::PeerId& peer) { peers_.try_emplace(peer); }

void PeerScore::remove_peer(const crypto::PeerId& peer) { peers_.erase(peer); }

PeerScore::TopicStats* PeerScore::topic_stats(const crypto::PeerId& peer, const std::string& topic) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return nullptr;
  return &it->second.topics[topic];
}

std::size_t PeerScore::topics(const crypto::PeerId& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.topics.size();
}

void PeerScore::graft(const crypto::PeerId& peer, const std::string& topic, TimePoint now) {
  if (auto* t = topic_stats(peer, topic)) {
    t->in_mesh = true;
    t->grafted = now;
    t->mesh_deliveries = 0;
  }
}

double PeerScore::deficit_squared(const TopicStats& t, TimePoint now) const {
  const auto& p = params_.topic;
  if (!t.in_mesh || now - t.grafted < p.mesh_message_deliveries_activation) return 0;
  if (t.mesh_deliveries >= p.mesh_message_deliveries_threshold) return 0;
  const double deficit = p.mesh_message_deliveries_threshold - t.mesh_deliveries;
  return deficit * deficit;
}

void PeerScore::prune(const crypto::PeerId& peer, const std::string& topic) {
  auto* t = topic_stats(peer, topic);
  if (!t) return;
  // P3b: a peer leaving the mesh with a delivery deficit keeps it as a sticky penalty. Time is
  // not known here, so the activation check is skipped: only peers past it can have a deficit.
  if (t->in_mesh && t->mesh_deliveries < params_.topic.mesh_message_deliveries_threshold &&
      params_.topic.mesh_failure_penalty_weight != 0) {
    const double deficit = params_.topic.mesh_message_deliveries_threshold - t->mesh_deliveries;
    t->mesh_failure_penalty += deficit * deficit;
  }
  t->in_mesh = false;
}

void PeerScore::first_delivery(const crypto::PeerId& peer, const std::string& topic) {
  auto* t = topic_stats(peer, topic);
  if (!t) return;
  const auto& p = params_.topic;
  t->first_deliveries = std::min(t->first_deliveries + 1, p.first_message_deliveries_cap);
  if (t->in_mesh) t->mesh_deliveries = std::min(t->mesh_deliveries + 1, p.mesh_message_deliveries_cap);
}

void PeerScore::duplicate_delivery(const crypto::PeerId& peer, const std::string& topic, TimePoint first_seen,
                                   TimePoint now) {
  auto* t = topic_stats(peer, topic);
  if (!t || !t->in_mesh) return;
  const auto& p = params_.topic;
  if (now - first_seen <= p.mesh_message_deliveries_window)
    t->mesh_deliveries = std::min(t->mesh_deliveries + 1, p.mesh_message_deliveries_cap);
}

void PeerScore::invalid_message(const crypto::PeerId& peer, const std::string& topic) {
  if (auto* t = topic_stats(peer, topic)) t->invalid_deliveries += 1;
}

void PeerScore::behaviour_penalty(const crypto::PeerId& peer, double count) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) it->second.behaviour_penalty += count;
}

double PeerScore::score(const crypto::PeerId& peer, TimePoint now) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return 0;
  const auto& p = params_.topic;
  double total = 0;
  for (const auto& [topic, t] : it->second.topics) {
    double topic_score = 0;
    if (t.in_mesh) {
      const double quanta = std::chrono::duration<double>(now - t.grafted) /
                            std::chrono::duration<double>(p.time_in_mesh_quantum);
      topic_score += p.time_in_mesh_weight * std::min(quanta, p.time_in_mesh_cap);
    }
    topic_score += p.first_message_deliveries_weight * t.first_deliveries;
    topic_score += p.mesh_message_deliveries_weight * deficit_squared(t, now);
    topic_score += p.mesh_failure_penalty_weight * t.mesh_failure_penalty;
    topic_score += p.invalid_message_deliveries_weight * t.invalid_deliveries * t.invalid_deliveries;
    total += p.topic_weight * topic_score;
  }
  const double excess = it->second.behaviour_penalty - params_.behaviour_penalty_threshold;
  if (excess > 0) total += params_.behaviour_penalty_weight * excess * excess;
  return total;
}

void PeerScore::decay(double& value, double factor) const {
  value *= factor;
  if (value < params_.decay_to_zero) value = 0;
}

void PeerScore::maybe_decay(TimePoint now) {
  if (!decayed_once_) {
    decayed_once_ = true;
    last_decay_ = now;
    return;
  }
  if (now - last_decay_ < params_.decay_interval) return;
  last_decay_ = now;
  const auto& p = params_.topic;
  for (auto& [peer, stats] : peers_) {
    for (auto& [topic, t] : stats.topics) {
      decay(t.first_deliveries, p.first_message_deliveries_decay);
      decay(t.mesh_deliveries, p.mesh_message_deliveries_decay);
      decay(t.mesh_failure_penalty, p.mesh_failure_penalty_decay);
      decay(t.invalid_deliveries, p.invalid_message_deliveries_decay);
    }
    decay(stats.behaviour_penalty, params_.behaviour_penalty_decay);
  }
}

}  // namespace stargate::p2p::gossipsub
