#include "p2p/protocols/kad/lookup.hpp"

#include <algorithm>
#include <utility>

namespace stargate::p2p::kad {

Lookup::Lookup(const KadKey& target, const crypto::PeerId& self, std::vector<Candidate> seeds, LookupConfig config)
    : target_(target),
      self_(self),
      config_(config),
      paths_(std::max<std::size_t>(1, config.disjoint_paths)),
      in_flight_by_path_(paths_.size()) {
  // Dealt out closest first, so that every path starts with seeds about as close as the others'.
  std::vector<std::pair<Distance, std::size_t>> order;
  for (std::size_t i = 0; i < seeds.size(); ++i) order.emplace_back(distance(key_of(seeds[i].peer), target_), i);
  std::stable_sort(order.begin(), order.end());
  std::size_t dealt = 0;
  for (const auto& [d, i] : order) {
    const bool duplicate = std::any_of(paths_.begin(), paths_.end(), [&d = d](const Path& p) { return p.contains(d); });
    if (!duplicate && insert(dealt % paths(), std::move(seeds[i]), 1)) ++dealt;
  }
}

bool Lookup::insert(std::size_t path, Candidate candidate, std::size_t hop) {
  if (candidate.peer == self_ || candidate.peer.empty()) return false;
  auto& known = paths_[path];
  const auto d = distance(key_of(candidate.peer), target_);
  if (known.contains(d)) return false;
  known.emplace(d, Known{std::move(candidate), hop});
  // Over the path's share of the bound: forget its farthest peer not asked yet. Peers already
  // asked are kept (they number no more than the requests sent), so that none is asked twice.
  const auto bound = std::max(config_.k, config_.max_candidates / paths());
  while (known.size() > bound) {
    auto victim = std::find_if(known.rbegin(), known.rend(),
                               [this](const auto& kv) { return state_of(kv.first) == State::waiting; });
    if (victim == known.rend()) break;
    known.erase(std::next(victim).base());
  }
  return true;
}

Lookup::State Lookup::state_of(const Distance& d) const {
  auto it = contacted_.find(d);
  return it == contacted_.end() ? State::waiting : it->second.state;
}

Lookup::Contact* Lookup::contact_of(const crypto::PeerId& peer) {
  auto it = contacted_.find(distance(key_of(peer), target_));
  return it == contacted_.end() || it->second.candidate.peer != peer ? nullptr : &it->second;
}

void Lookup::release(const Contact& contact) {
  --in_flight_;
  --in_flight_by_path_[contact.path];
}

std::vector<Candidate> Lookup::next() {
  std::vector<Candidate> out;
  for (std::size_t path = 0; path < paths(); ++path) {
    // Only the k closest peers of the path still in the running are worth asking: once they have
    // all answered, nothing farther away can improve its result. A peer another path asked is
    // in the running (or not) as that request goes, without taking one of this path's slots.
    std::size_t considered = 0;
    for (const auto& [d, known] : paths_[path]) {
      if (in_flight_by_path_[path] >= config_.alpha || considered >= config_.k) break;
      const auto state = state_of(d);
      if (state == State::failed || state == State::stalled) continue;
      ++considered;
      if (state != State::waiting) continue;
      contacted_.emplace(d, Contact{known.candidate, State::in_flight, path, known.hop});
      ++in_flight_;
      ++in_flight_by_path_[path];
      ++requests_;
      out.push_back(known.candidate);
    }
  }
  return out;
}

void Lookup::on_response(const crypto::PeerId& from, std::vector<Candidate> closer) {
  Contact* contact = contact_of(from);
  if (!contact || (contact->state != State::in_flight && contact->state != State::stalled)) return;
  if (contact->state == State::in_flight) release(*contact);
  contact->state = State::answered;
  // What a peer answers feeds only the path that asked it: the disjointness.
  for (auto& c : closer) insert(contact->path, std::move(c), contact->hop + 1);
}

void Lookup::on_failure(const crypto::PeerId& from) {
  Contact* contact = contact_of(from);
  if (!contact || (contact->state != State::in_flight && contact->state != State::stalled)) return;
  if (contact->state == State::in_flight) release(*contact);
  contact->state = State::failed;
  ++failures_;
}

void Lookup::on_stalled(const crypto::PeerId& peer) {
  Contact* contact = contact_of(peer);
  if (!contact || contact->state != State::in_flight) return;
  contact->state = State::stalled;
  release(*contact);
}

bool Lookup::path_finished(std::size_t path) const {
  std::size_t considered = 0;
  for (const auto& [d, known] : paths_[path]) {
    if (considered >= config_.k) break;
    const auto state = state_of(d);
    if (state == State::failed || state == State::stalled) continue;
    ++considered;
    if (state != State::answered) return false;
  }
  return true;
}

bool Lookup::finished() const {
  for (std::size_t path = 0; path < paths(); ++path)
    if (!path_finished(path)) return false;
  return true;
}

std::vector<Candidate> Lookup::closest_answered(std::size_t count) const {
  std::vector<Candidate> out;
  for (const auto& [d, contact] : contacted_) {
    if (out.size() >= count) break;
    if (contact.state == State::answered) out.push_back(contact.candidate);
  }
  return out;
}

std::size_t Lookup::hops() const {
  std::size_t most = 0, seen = 0;
  for (const auto& [d, contact] : contacted_) {
    if (seen >= config_.k) break;
    if (contact.state != State::answered) continue;
    ++seen;
    most = std::max(most, contact.hop);
  }
  return most;
}

}  // namespace stargate::p2p::kad
