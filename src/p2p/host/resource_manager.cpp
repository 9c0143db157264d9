#include "p2p/host/resource_manager.hpp"

namespace stargate::p2p {

ResourceGrant& ResourceGrant::operator=(ResourceGrant&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = std::move(other.manager_);
    held_ = std::exchange(other.held_, false);
    kind_ = other.kind_;
    ip_ = std::move(other.ip_);
    peer_ = std::move(other.peer_);
  }
  return *this;
}

void ResourceGrant::release() {
  if (!std::exchange(held_, false)) return;
  if (auto manager = manager_.lock()) manager->release(kind_, ip_, peer_);
}

ResourceGrant ResourceManager::begin_handshake(std::string& why) {
  if (handshakes_ >= limits_.max_pending_handshakes) {
    why = "too many pending handshakes (limit " + std::to_string(limits_.max_pending_handshakes) + ")";
    return {};
  }
  ++handshakes_;
  return ResourceGrant(weak_from_this(), ResourceGrant::Kind::handshake, {}, {});
}

ResourceGrant ResourceManager::admit_connection(const std::optional<asio::ip::address>& remote,
                                                const std::string& peer, std::string& why) {
  if (connections_ >= limits_.max_connections) {
    why = "too many connections (limit " + std::to_string(limits_.max_connections) + ")";
    return {};
  }
  if (per_peer_[peer] >= limits_.max_connections_per_peer) {
    why = "too many connections to this peer (limit " + std::to_string(limits_.max_connections_per_peer) + ")";
    return {};
  }
  // Loopback is exempt: tests and local agents run many nodes on one address.
  std::string ip = !remote || remote->is_loopback() ? std::string() : remote->to_string();
  if (!ip.empty() && per_ip_[ip] >= limits_.max_connections_per_ip) {
    why = "too many connections from " + ip + " (limit " + std::to_string(limits_.max_connections_per_ip) + ")";
    return {};
  }
  ++connections_;
  ++per_peer_[peer];
  if (!ip.empty()) ++per_ip_[ip];
  return ResourceGrant(weak_from_this(), ResourceGrant::Kind::connection, ip, peer);
}

void ResourceManager::release(ResourceGrant::Kind kind, const std::string& ip, const std::string& peer) {
  if (kind == ResourceGrant::Kind::handshake) {
    --handshakes_;
    return;
  }
  --connections_;
  if (--per_peer_[peer] == 0) per_peer_.erase(peer);
  if (!ip.empty() && --per_ip_[ip] == 0) per_ip_.erase(ip);
}

}  // namespace stargate::p2p
