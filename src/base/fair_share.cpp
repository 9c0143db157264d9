#include "base/fair_share.hpp"

#include <algorithm>

namespace stargate {

std::size_t FairShare::taken_by(const std::string& source) const {
  auto it = by_source_.find(source);
  return it == by_source_.end() ? 0 : it->second.size();
}

FairShare::Entry* FairShare::busiest_source() {
  Entry* most = nullptr;
  for (auto& entry : by_source_) {
    if (entry.first.empty()) continue;  // the node's own: never evicted
    if (!most || entry.second.size() > most->second.size()) most = &entry;
  }
  return most;
}

std::size_t FairShare::busiest() const {
  std::size_t most = 0;
  for (const auto& [source, ids] : by_source_)
    if (!source.empty()) most = std::max(most, ids.size());
  return most;
}

FairShare::Admission FairShare::admit(const std::string& source, bool capped) {
  Admission admission;
  const bool own = source.empty();
  const std::size_t held = taken_by(source);
  if (!own && capped && held >= limits_.max_per_source) {
    admission.refusal = Refusal::source_full;
    return admission;
  }
  if (taken() >= limits_.max_total) {
    Entry* victim = busiest_source();
    const std::size_t newcomer_holds = own ? 0 : held;
    // Taking from a source that would then hold fewer than the newcomer would trade slots back
    // and forth: then the newcomer's own source gives up its oldest instead.
    if (victim && victim->first != source && victim->second.size() < newcomer_holds + 2)
      victim = own || held == 0 ? nullptr : &*by_source_.find(source);
    if (!victim) {
      admission.refusal = Refusal::full;
      return admission;
    }
    admission.evicted = victim->second.front();
    admission.evicted_source = victim->first;
    release(*admission.evicted);
  }
  admission.id = next_id_++;
  source_of_.emplace(admission.id, source);
  by_source_[source].push_back(admission.id);
  return admission;
}

void FairShare::release(std::uint64_t id) {
  auto it = source_of_.find(id);
  if (it == source_of_.end()) return;
  if (auto by = by_source_.find(it->second); by != by_source_.end()) {
    auto& ids = by->second;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (ids.empty()) by_source_.erase(by);
  }
  source_of_.erase(it);
}

}  // namespace stargate
