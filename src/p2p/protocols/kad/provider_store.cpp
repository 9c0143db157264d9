#include "p2p/protocols/kad/provider_store.hpp"

#include <algorithm>

namespace stargate::p2p::kad {

bool ProviderStore::add(const Bytes& key, const crypto::PeerId& provider, std::vector<Multiaddr> addrs, Time now) {
  if (addrs.size() > config_.max_addrs_per_provider) addrs.resize(config_.max_addrs_per_provider);
  auto it = records_.find(key);
  if (it == records_.end()) {
    if (records_.size() >= config_.max_keys) {
      expire(now);
      if (records_.size() >= config_.max_keys) return false;
    }
    it = records_.emplace(key, std::vector<ProviderRecord>{}).first;
  }
  auto& list = it->second;
  std::erase_if(list, [&](const ProviderRecord& r) { return r.provider == provider; });
  if (list.size() >= config_.max_providers_per_key) {
    // Make room by dropping the record that would expire first (the least recently refreshed).
    auto oldest = std::min_element(list.begin(), list.end(),
                                   [](const ProviderRecord& a, const ProviderRecord& b) { return a.expires < b.expires; });
    list.erase(oldest);
  }
  list.push_back(ProviderRecord{provider, std::move(addrs), now + config_.ttl});
  return true;
}

std::vector<ProviderRecord> ProviderStore::providers(const Bytes& key, Time now, std::size_t limit) const {
  std::vector<ProviderRecord> out;
  auto it = records_.find(key);
  if (it == records_.end()) return out;
  for (auto r = it->second.rbegin(); r != it->second.rend() && out.size() < limit; ++r)
    if (r->expires > now) out.push_back(*r);
  return out;
}

void ProviderStore::expire(Time now) {
  for (auto it = records_.begin(); it != records_.end();) {
    std::erase_if(it->second, [&](const ProviderRecord& r) { return r.expires <= now; });
    it = it->second.empty() ? records_.erase(it) : std::next(it);
  }
}

std::size_t ProviderStore::records() const {
  std::size_t n = 0;
  for (const auto& [key, list] : records_) n += list.size();
  return n;
}

}  // namespace stargate::p2p::kad
