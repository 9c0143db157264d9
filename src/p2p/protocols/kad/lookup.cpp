#include "p2p/protocols/kad/lookup.hpp"

#include <algorithm>

namespace stargate::p2p::kad {

Lookup::Lookup(const KadKey& target, const crypto::PeerId& self, std::vector<Candidate> seeds, LookupConfig config)
    : target_(target), self_(self), config_(config) {
  for (auto& seed : seeds) insert(std::move(seed), 1);
}

void Lookup::insert(Candidate candidate, std::size_t hop) {
  if (candidate.peer == self_ || candidate.peer.empty()) return;
  const auto d = distance(key_of(candidate.peer), target_);
  if (entries_.contains(d)) return;
  entries_.emplace(d, Entry{std::move(candidate), State::waiting, hop});
  // Over the bound: forget the farthest peer not asked yet. Peers already asked are kept (they
  // number no more than the requests sent), so that none is asked twice.
  while (entries_.size() > config_.max_candidates) {
    auto victim = std::find_if(entries_.rbegin(), entries_.rend(),
                               [](const auto& kv) { return kv.second.state == State::waiting; });
    if (victim == entries_.rend()) break;
    entries_.erase(std::next(victim).base());
  }
}

Lookup::Entry* Lookup::entry_of(const crypto::PeerId& peer) {
  auto it = entries_.find(distance(key_of(peer), target_));
  return it == entries_.end() || it->second.candidate.peer != peer ? nullptr : &it->second;
}

std::vector<Candidate> Lookup::next() {
  std::vector<Candidate> out;
  // Only the k closest peers still in the running are worth asking: once they have all
  // answered, nothing farther away can improve the result.
  std::size_t considered = 0;
  for (auto& [d, entry] : entries_) {
    if (in_flight_ >= config_.alpha || considered >= config_.k) break;
    if (entry.state == State::failed || entry.state == State::stalled) continue;
    ++considered;
    if (entry.state != State::waiting) continue;
    entry.state = State::in_flight;
    ++in_flight_;
    ++requests_;
    out.push_back(entry.candidate);
  }
  return out;
}

void Lookup::on_response(const crypto::PeerId& from, std::vector<Candidate> closer) {
  Entry* entry = entry_of(from);
  if (!entry || (entry->state != State::in_flight && entry->state != State::stalled)) return;
  if (entry->state == State::in_flight) --in_flight_;
  entry->state = State::answered;
  const auto hop = entry->hop + 1;  // `entry` may move below: read it first
  for (auto& c : closer) insert(std::move(c), hop);
}

void Lookup::on_failure(const crypto::PeerId& from) {
  Entry* entry = entry_of(from);
  if (!entry || (entry->state != State::in_flight && entry->state != State::stalled)) return;
  if (entry->state == State::in_flight) --in_flight_;
  entry->state = State::failed;
  ++failures_;
}

void Lookup::on_stalled(const crypto::PeerId& peer) {
  Entry* entry = entry_of(peer);
  if (!entry || entry->state != State::in_flight) return;
  entry->state = State::stalled;
  --in_flight_;
}

bool Lookup::finished() const {
  std::size_t considered = 0;
  for (const auto& [d, entry] : entries_) {
    if (considered >= config_.k) break;
    if (entry.state == State::failed || entry.state == State::stalled) continue;
    ++considered;
    if (entry.state != State::answered) return false;
  }
  return true;
}

std::vector<Candidate> Lookup::closest_answered(std::size_t count) const {
  std::vector<Candidate> out;
  for (const auto& [d, entry] : entries_) {
    if (out.size() >= count) break;
    if (entry.state == State::answered) out.push_back(entry.candidate);
  }
  return out;
}

std::size_t Lookup::hops() const {
  std::size_t most = 0, seen = 0;
  for (const auto& [d, entry] : entries_) {
    if (seen >= config_.k) break;
    if (entry.state != State::answered) continue;
    ++seen;
    most = std::max(most, entry.hop);
  }
  return most;
}

}  // namespace stargate::p2p::kad
