#include "p2p/protocols/kad/routing_table.hpp"

#include <algorithm>

namespace stargate::p2p::kad {
namespace {

template <class Entries>
auto find_peer(Entries& entries, const crypto::PeerId& peer) {
  return std::find_if(entries.begin(), entries.end(), [&](const RoutingEntry& e) { return e.peer == peer; });
}

}  // namespace

RoutingTable::RoutingTable(const crypto::PeerId& self, RoutingTableConfig config)
    : self_(self), self_key_(key_of(self)), config_(config) {}

RoutingTable::Bucket* RoutingTable::bucket_for(const KadKey& key) {
  const auto cpl = common_prefix_length(self_key_, key);
  return cpl >= kKeyBits ? nullptr : &buckets_[cpl];
}

RoutingTable::AddResult RoutingTable::add(const crypto::PeerId& peer, std::vector<Multiaddr> addrs, SteadyTime now) {
  if (peer == self_) return {Outcome::self, std::nullopt};
  if (addrs.size() > config_.max_addrs_per_peer) addrs.resize(config_.max_addrs_per_peer);
  const auto key = key_of(peer);
  Bucket* bucket = bucket_for(key);
  if (!bucket) return {Outcome::self, std::nullopt};  // a different PeerId with our hash: ignore

  if (auto it = find_peer(bucket->entries, peer); it != bucket->entries.end()) {
    RoutingEntry entry = std::move(*it);
    bucket->entries.erase(it);
    if (!addrs.empty()) entry.addrs = std::move(addrs);
    entry.last_seen = now;
    bucket->entries.push_back(std::move(entry));
    return {Outcome::updated, std::nullopt};
  }
  if (bucket->entries.size() < config_.bucket_size) {
    bucket->entries.push_back(RoutingEntry{peer, key, std::move(addrs), now});
    ++size_;
    return {Outcome::inserted, std::nullopt};
  }
  // Full: remember the newcomer, and have the oldest peer checked if it has been quiet.
  if (auto it = find_peer(bucket->replacements, peer); it != bucket->replacements.end()) bucket->replacements.erase(it);
  bucket->replacements.push_back(RoutingEntry{peer, key, std::move(addrs), now});
  if (bucket->replacements.size() > config_.replacement_cache) bucket->replacements.erase(bucket->replacements.begin());
  const auto& oldest = bucket->entries.front();
  std::optional<crypto::PeerId> check;
  if (now - oldest.last_seen >= config_.check_after) check = oldest.peer;
  return {Outcome::cached, check};
}

void RoutingTable::seen(const crypto::PeerId& peer, SteadyTime now) {
  Bucket* bucket = bucket_for(key_of(peer));
  if (!bucket) return;
  if (auto it = find_peer(bucket->entries, peer); it != bucket->entries.end()) {
    RoutingEntry entry = std::move(*it);
    bucket->entries.erase(it);
    entry.last_seen = now;
    bucket->entries.push_back(std::move(entry));
  }
}

void RoutingTable::failed(const crypto::PeerId& peer) {
  Bucket* bucket = bucket_for(key_of(peer));
  if (!bucket) return;
  if (auto it = find_peer(bucket->replacements, peer); it != bucket->replacements.end()) bucket->replacements.erase(it);
  auto it = find_peer(bucket->entries, peer);
  if (it == bucket->entries.end()) return;
  bucket->entries.erase(it);
  --size_;
  if (!bucket->replacements.empty()) {
    bucket->entries.push_back(std::move(bucket->replacements.back()));
    bucket->replacements.pop_back();
    ++size_;
  }
}

std::vector<RoutingEntry> RoutingTable::closest(const KadKey& target, std::size_t count) const {
  std::vector<const RoutingEntry*> all;
  all.reserve(size_);
  for (const auto& bucket : buckets_)
    for (const auto& entry : bucket.entries) all.push_back(&entry);
  const auto n = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [&](const RoutingEntry* a, const RoutingEntry* b) {
                      return distance(a->key, target) < distance(b->key, target);
                    });
  std::vector<RoutingEntry> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(*all[i]);
  return out;
}

const RoutingEntry* RoutingTable::find(const crypto::PeerId& peer) const {
  const auto cpl = common_prefix_length(self_key_, key_of(peer));
  if (cpl >= kKeyBits) return nullptr;
  const auto& entries = buckets_[cpl].entries;
  auto it = std::find_if(entries.begin(), entries.end(), [&](const RoutingEntry& e) { return e.peer == peer; });
  return it == entries.end() ? nullptr : &*it;
}

std::size_t RoutingTable::replacements() const {
  std::size_t n = 0;
  for (const auto& bucket : buckets_) n += bucket.replacements.size();
  return n;
}

std::vector<crypto::PeerId> RoutingTable::stale(SteadyTime now, std::chrono::seconds older_than) const {
  std::vector<crypto::PeerId> out;
  for (const auto& bucket : buckets_)
    for (const auto& entry : bucket.entries)
      if (now - entry.last_seen >= older_than) out.push_back(entry.peer);
  return out;
}

std::vector<std::size_t> RoutingTable::occupied_buckets() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < buckets_.size(); ++i)
    if (!buckets_[i].entries.empty()) out.push_back(i);
  return out;
}

}  // namespace stargate::p2p::kad
