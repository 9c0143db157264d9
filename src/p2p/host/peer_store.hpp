#pragma once
// What the node knows about other peers: addresses, protocols, agent version, public key.
// Bounded: beyond `max_peers`, the peer seen least recently is forgotten.
#include "base/multiaddr.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/asio.hpp"

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace stargate::p2p {

struct PeerInfo {
  crypto::PeerId id;
  std::vector<Multiaddr> addrs;
  std::vector<std::string> protocols;
  std::string agent_version;
  std::string protocol_version;
  std::optional<crypto::Ed25519PublicKey> public_key;
  // Where the peer saw us connect from (identify observedAddr): evidence for NAT detection.
  std::optional<Multiaddr> observed_addr;
  std::uint64_t peer_record_seq = 0;
  Clock::time_point last_seen{};
};

class PeerStore {
 public:
  explicit PeerStore(std::size_t max_peers = 10000, std::size_t max_addrs_per_peer = 32)
      : max_peers_(max_peers), max_addrs_(max_addrs_per_peer) {}

  PeerInfo& upsert(const crypto::PeerId& id);
  const PeerInfo* find(const crypto::PeerId& id) const;
  void add_addrs(const crypto::PeerId& id, const std::vector<Multiaddr>& addrs);
  void forget(const crypto::PeerId& id) { peers_.erase(id); }
  std::vector<crypto::PeerId> peers() const;
  std::size_t size() const { return peers_.size(); }

 private:
  void evict_oldest();
  std::size_t max_peers_;
  std::size_t max_addrs_;
  std::unordered_map<crypto::PeerId, PeerInfo> peers_;
};

}  // namespace stargate::p2p
