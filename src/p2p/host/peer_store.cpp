#include "p2p/host/peer_store.hpp"

#include <algorithm>

namespace stargate::p2p {

PeerInfo& PeerStore::upsert(const crypto::PeerId& id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_) evict_oldest();
    it = peers_.emplace(id, PeerInfo{id, {}, {}, {}, {}, {}, {}, 0, {}}).first;
  }
  it->second.last_seen = Clock::now();
  return it->second;
}

const PeerInfo* PeerStore::find(const crypto::PeerId& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

void PeerStore::add_addrs(const crypto::PeerId& id, const std::vector<Multiaddr>& addrs) {
  auto& info = upsert(id);
  for (const auto& addr : addrs) {
    auto plain = addr.without_peer_id();
    if (std::find(info.addrs.begin(), info.addrs.end(), plain) != info.addrs.end()) continue;
    if (info.addrs.size() >= max_addrs_) info.addrs.erase(info.addrs.begin());
    info.addrs.push_back(std::move(plain));
  }
}

std::vector<crypto::PeerId> PeerStore::peers() const {
  std::vector<crypto::PeerId> out;
  out.reserve(peers_.size());
  for (const auto& [id, info] : peers_) out.push_back(id);
  return out;
}

void PeerStore::evict_oldest() {
  auto oldest = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
    return a.second.last_seen < b.second.last_seen;
  });
  if (oldest != peers_.end()) peers_.erase(oldest);
}

}  // namespace stargate::p2p
