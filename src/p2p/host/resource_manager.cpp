#include "p2p/host/resource_manager.hpp"

#include <algorithm>

namespace stargate::p2p {
namespace {

std::string limit_text(std::size_t limit) { return "(limit " + std::to_string(limit) + ")"; }

// Adds `n` to `count` when it stays within `limit`.
bool fits(std::size_t count, std::size_t n, std::size_t limit) { return n <= limit && count <= limit - n; }

std::size_t room_under(std::size_t used, std::size_t limit) { return used >= limit ? 0 : limit - used; }

void decrement(std::unordered_map<std::string, std::size_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  if (it != counts.end() && --it->second == 0) counts.erase(it);
}

std::size_t busiest(const std::unordered_map<std::string, std::size_t>& counts) {
  std::size_t most = 0;
  for (const auto& [key, n] : counts) most = std::max(most, n);
  return most;
}

}  // namespace

// The Yamux window memory of one connection, charged to its peer and the system as well.
class ConnectionMemory final : public yamux::MemoryBudget {
 public:
  ConnectionMemory(std::weak_ptr<ResourceManager> manager, std::string peer)
      : manager_(std::move(manager)), peer_(std::move(peer)) {
    if (auto m = manager_.lock()) m->connection_memories_.push_back(this);
  }
  ~ConnectionMemory() override {
    auto m = manager_.lock();
    if (!m) return;
    std::erase(m->connection_memories_, this);
    give_back(taken_);
  }
  std::size_t room() const override {
    auto m = manager_.lock();
    if (!m) return 0;
    return std::min(room_under(taken_, m->limits_.max_memory_per_connection), m->memory_room(peer_));
  }
  void take(std::size_t bytes) override {
    auto m = manager_.lock();
    if (!m || bytes == 0) return;
    taken_ += bytes;
    m->system_.memory += bytes;
    m->per_peer_[peer_].memory += bytes;
  }
  void give_back(std::size_t bytes) override {
    auto m = manager_.lock();
    bytes = std::min(bytes, taken_);
    if (!m || bytes == 0) return;
    taken_ -= bytes;
    m->system_.memory -= bytes;
    m->per_peer_[peer_].memory -= bytes;
    m->drop_peer_if_empty(peer_);
  }
  std::size_t taken() const { return taken_; }

 private:
  std::weak_ptr<ResourceManager> manager_;
  std::string peer_;
  std::size_t taken_ = 0;
};

// ---------------------------------------------------------------- grants

ResourceGrant& ResourceGrant::operator=(ResourceGrant&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = std::move(other.manager_);
    held_ = std::exchange(other.held_, false);
    kind_ = other.kind_;
    handshake_id_ = other.handshake_id_;
    ip_ = std::move(other.ip_);
    peer_ = std::move(other.peer_);
  }
  return *this;
}

void ResourceGrant::release() {
  if (!std::exchange(held_, false)) return;
  if (auto manager = manager_.lock()) manager->release(kind_, ip_, peer_, handshake_id_);
}

MemoryGrant& MemoryGrant::operator=(MemoryGrant&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = std::move(other.manager_);
    peer_ = std::move(other.peer_);
    protocol_ = std::move(other.protocol_);
    service_ = std::move(other.service_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void MemoryGrant::release() {
  auto bytes = std::exchange(bytes_, 0);
  if (bytes == 0) return;
  if (auto manager = manager_.lock()) manager->release_memory(peer_, protocol_, service_, bytes);
}

StreamScope& StreamScope::operator=(StreamScope&& other) noexcept {
  if (this != &other) {
    release();
    manager_ = std::move(other.manager_);
    held_ = std::exchange(other.held_, false);
    negotiating_ = other.negotiating_;
    peer_ = std::move(other.peer_);
    protocol_ = std::move(other.protocol_);
    service_ = std::move(other.service_);
  }
  return *this;
}

void StreamScope::release() {
  if (!std::exchange(held_, false)) return;
  if (auto manager = manager_.lock()) manager->release_stream(*this);
}

bool StreamScope::set_protocol(std::string_view protocol, std::string& why) {
  auto manager = manager_.lock();
  if (!held_ || !manager) {
    why = "stream scope released";
    return false;
  }
  return manager->enter_protocol(*this, protocol, why);
}

MemoryGrant StreamScope::reserve_memory(std::size_t bytes, std::string& why) {
  MemoryGrant grant;
  auto manager = manager_.lock();
  if (!held_ || !manager || bytes == 0) return grant;
  if (!manager->reserve(peer_, protocol_, service_, bytes, why)) return grant;
  grant.manager_ = manager_;
  grant.peer_ = peer_;
  grant.protocol_ = protocol_;
  grant.service_ = service_;
  grant.bytes_ = bytes;
  return grant;
}

// ---------------------------------------------------------------- admission

void ResourceManager::refuse(const char* scope, const char* resource, std::string& why, std::string message) {
  ++refusals_[std::string(scope) + " " + resource];
  why = std::move(message);
}

HandshakeStart ResourceManager::begin_handshake(const std::optional<asio::ip::address>& remote, bool relayed,
                                               std::string& why) {
  HandshakeStart start;
  std::string source = remote ? remote->to_string() : relayed ? "circuit" : "";
  const bool capped = !(remote && remote->is_loopback() && limits_.loopback_exempt);
  auto admission = handshakes_.admit(source, capped);
  switch (admission.refusal) {
    case FairShare::Refusal::source_full:
      refuse("ip", "handshakes", why,
             "too many pending handshakes from " + source + " " + limit_text(limits_.max_pending_handshakes_per_ip));
      return start;
    case FairShare::Refusal::full:
      refuse("transient", "handshakes", why, "too many pending handshakes " + limit_text(limits_.max_pending_handshakes));
      return start;
    case FairShare::Refusal::none:
      break;
  }
  if (admission.evicted) ++refusals_["ip handshakes_evicted"];
  start.grant = ResourceGrant(weak_from_this(), ResourceGrant::Kind::handshake, {}, {}, admission.id);
  start.evicted = admission.evicted;
  start.evicted_source = std::move(admission.evicted_source);
  start.under_pressure = handshakes_.under_pressure();
  return start;
}

ResourceGrant ResourceManager::admit_connection(const std::optional<asio::ip::address>& remote,
                                                const std::string& peer, std::string& why) {
  if (connections_ >= limits_.max_connections) {
    refuse("system", "connections", why, "too many connections " + limit_text(limits_.max_connections));
    return {};
  }
  auto found = per_peer_.find(peer);
  if (found != per_peer_.end() && found->second.connections >= limits_.max_connections_per_peer) {
    refuse("peer", "connections", why,
           "too many connections to this peer " + limit_text(limits_.max_connections_per_peer));
    return {};
  }
  // Loopback may be exempt: tests and local agents run many nodes on one address.
  std::string ip = !remote || (remote->is_loopback() && limits_.loopback_exempt) ? std::string() : remote->to_string();
  if (!ip.empty()) {
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && it->second >= limits_.max_connections_per_ip) {
      refuse("ip", "connections", why, "too many connections from " + ip + " " + limit_text(limits_.max_connections_per_ip));
      return {};
    }
  }
  ++connections_;
  ++per_peer_[peer].connections;
  if (!ip.empty()) ++per_ip_[ip];
  return ResourceGrant(weak_from_this(), ResourceGrant::Kind::connection, ip, peer);
}

void ResourceManager::release(ResourceGrant::Kind kind, const std::string& ip, const std::string& peer,
                              std::uint64_t handshake_id) {
  if (kind == ResourceGrant::Kind::handshake) {
    handshakes_.release(handshake_id);
    return;
  }
  --connections_;
  if (auto it = per_peer_.find(peer); it != per_peer_.end()) --it->second.connections;
  drop_peer_if_empty(peer);
  if (!ip.empty()) decrement(per_ip_, ip);
}

void ResourceManager::drop_peer_if_empty(const std::string& peer) {
  if (auto it = per_peer_.find(peer); it != per_peer_.end() && it->second.empty()) per_peer_.erase(it);
}

StreamScope ResourceManager::open_stream(const std::string& peer, std::string& why) {
  StreamScope scope;
  if (system_.streams >= limits_.max_streams) {
    refuse("system", "streams", why, "too many streams " + limit_text(limits_.max_streams));
    return scope;
  }
  if (negotiating_ >= limits_.max_negotiating_streams) {
    refuse("transient", "streams", why,
           "too many streams in protocol negotiation " + limit_text(limits_.max_negotiating_streams));
    return scope;
  }
  auto& counts = per_peer_[peer];
  if (counts.streams >= limits_.max_streams_per_peer) {
    drop_peer_if_empty(peer);
    refuse("peer", "streams", why, "too many streams with this peer " + limit_text(limits_.max_streams_per_peer));
    return scope;
  }
  if (counts.negotiating >= limits_.max_negotiating_streams_per_peer) {
    drop_peer_if_empty(peer);
    refuse("transient", "streams_per_peer", why,
           "too many streams in protocol negotiation with this peer " + limit_text(limits_.max_negotiating_streams_per_peer));
    return scope;
  }
  ++counts.streams;
  ++counts.negotiating;
  ++system_.streams;
  ++negotiating_;
  scope.manager_ = weak_from_this();
  scope.held_ = true;
  scope.peer_ = peer;
  return scope;
}

void ResourceManager::set_service(const std::string& protocol, const std::string& service) {
  service_of_[protocol] = service;
  // Listed in usage() from now on, not only after their first stream.
  protocols_.try_emplace(protocol);
  services_.try_emplace(service);
}

bool ResourceManager::enter_protocol(StreamScope& scope, std::string_view protocol, std::string& why) {
  if (!scope.negotiating_) {
    why = "stream already has protocol " + scope.protocol_;
    return false;
  }
  std::string service;
  if (auto it = service_of_.find(protocol); it != service_of_.end()) service = it->second;
  const auto& protocol_limits = limits_.protocol(protocol);
  auto& counts = protocols_[std::string(protocol)];
  auto peer_streams = [&scope](const Counts& c) {
    auto it = c.streams_by_peer.find(scope.peer_);
    return it == c.streams_by_peer.end() ? std::size_t{0} : it->second;
  };
  if (counts.streams >= protocol_limits.streams) {
    refuse("protocol", "streams", why,
           "too many streams for protocol " + std::string(protocol) + " " + limit_text(protocol_limits.streams));
    return false;
  }
  if (peer_streams(counts) >= protocol_limits.streams_per_peer) {
    refuse("protocol", "streams_per_peer", why,
           "too many streams for protocol " + std::string(protocol) + " with this peer " +
               limit_text(protocol_limits.streams_per_peer));
    return false;
  }
  if (!service.empty()) {
    const auto& service_limits = limits_.service(service);
    auto& service_counts = services_[service];
    if (service_counts.streams >= service_limits.streams) {
      refuse("service", "streams", why,
             "too many streams for service " + service + " " + limit_text(service_limits.streams));
      return false;
    }
    if (peer_streams(service_counts) >= service_limits.streams_per_peer) {
      refuse("service", "streams_per_peer", why,
             "too many streams for service " + service + " with this peer " +
                 limit_text(service_limits.streams_per_peer));
      return false;
    }
    ++service_counts.streams;
    ++service_counts.streams_by_peer[scope.peer_];
  }
  ++counts.streams;
  ++counts.streams_by_peer[scope.peer_];
  --negotiating_;
  if (auto it = per_peer_.find(scope.peer_); it != per_peer_.end()) --it->second.negotiating;
  scope.negotiating_ = false;
  scope.protocol_ = std::string(protocol);
  scope.service_ = std::move(service);
  return true;
}

void ResourceManager::release_stream(const StreamScope& scope) {
  --system_.streams;
  if (auto it = per_peer_.find(scope.peer_); it != per_peer_.end()) {
    --it->second.streams;
    if (scope.negotiating_) --it->second.negotiating;
  }
  drop_peer_if_empty(scope.peer_);
  if (scope.negotiating_) {
    --negotiating_;
    return;
  }
  if (auto it = protocols_.find(scope.protocol_); it != protocols_.end()) {
    --it->second.streams;
    decrement(it->second.streams_by_peer, scope.peer_);
  }
  if (auto it = services_.find(scope.service_); it != services_.end()) {
    --it->second.streams;
    decrement(it->second.streams_by_peer, scope.peer_);
  }
}

// ---------------------------------------------------------------- memory

std::size_t ResourceManager::memory_room(const std::string& peer) const {
  std::size_t peer_memory = 0;
  if (auto it = per_peer_.find(peer); it != per_peer_.end()) peer_memory = it->second.memory;
  return std::min(room_under(system_.memory, limits_.max_memory), room_under(peer_memory, limits_.max_memory_per_peer));
}

bool ResourceManager::reserve(const std::string& peer, const std::string& protocol, const std::string& service,
                              std::size_t bytes, std::string& why) {
  auto too_much = [&](const char* scope, const std::string& what, std::size_t limit) {
    refuse(scope, "memory", why,
           "cannot reserve " + std::to_string(bytes) + " bytes of memory for " + what + " " + limit_text(limit));
    return false;
  };
  if (!fits(system_.memory, bytes, limits_.max_memory)) return too_much("system", "this node", limits_.max_memory);
  auto& peer_counts = per_peer_[peer];
  if (!fits(peer_counts.memory, bytes, limits_.max_memory_per_peer)) {
    drop_peer_if_empty(peer);
    return too_much("peer", "this peer", limits_.max_memory_per_peer);
  }
  Counts* protocol_counts = protocol.empty() ? nullptr : &protocols_[protocol];
  if (protocol_counts && !fits(protocol_counts->memory, bytes, limits_.protocol(protocol).memory)) {
    drop_peer_if_empty(peer);
    return too_much("protocol", "protocol " + protocol, limits_.protocol(protocol).memory);
  }
  Counts* service_counts = service.empty() ? nullptr : &services_[service];
  if (service_counts && !fits(service_counts->memory, bytes, limits_.service(service).memory)) {
    drop_peer_if_empty(peer);
    return too_much("service", "service " + service, limits_.service(service).memory);
  }
  system_.memory += bytes;
  peer_counts.memory += bytes;
  if (protocol_counts) protocol_counts->memory += bytes;
  if (service_counts) service_counts->memory += bytes;
  return true;
}

void ResourceManager::release_memory(const std::string& peer, const std::string& protocol, const std::string& service,
                                     std::size_t bytes) {
  system_.memory -= bytes;
  if (auto it = per_peer_.find(peer); it != per_peer_.end()) it->second.memory -= bytes;
  drop_peer_if_empty(peer);
  if (auto it = protocols_.find(protocol); !protocol.empty() && it != protocols_.end()) it->second.memory -= bytes;
  if (auto it = services_.find(service); !service.empty() && it != services_.end()) it->second.memory -= bytes;
}

std::unique_ptr<yamux::MemoryBudget> ResourceManager::connection_memory(const std::string& peer) {
  return std::make_unique<ConnectionMemory>(weak_from_this(), peer);
}

// ---------------------------------------------------------------- usage

ResourceUsage ResourceManager::usage() const {
  ResourceUsage out;
  out.peers = per_peer_.size();
  out.refusals = refusals_;
  out.scopes.push_back({"system", "", {{"connections", connections_, limits_.max_connections},
                                       {"streams", system_.streams, limits_.max_streams},
                                       {"memory", system_.memory, limits_.max_memory}}});
  PeerCounts most;
  for (const auto& [peer, counts] : per_peer_) {
    most.connections = std::max(most.connections, counts.connections);
    most.streams = std::max(most.streams, counts.streams);
    most.negotiating = std::max(most.negotiating, counts.negotiating);
    most.memory = std::max(most.memory, counts.memory);
  }
  out.scopes.push_back({"transient", "", {{"handshakes", handshakes_.taken(), limits_.max_pending_handshakes},
                                          {"handshakes_per_ip", handshakes_.busiest(), limits_.max_pending_handshakes_per_ip},
                                          {"streams", negotiating_, limits_.max_negotiating_streams},
                                          {"streams_per_peer", most.negotiating, limits_.max_negotiating_streams_per_peer}}});
  out.scopes.push_back({"peer", "busiest", {{"connections", most.connections, limits_.max_connections_per_peer},
                                            {"streams", most.streams, limits_.max_streams_per_peer},
                                            {"memory", most.memory, limits_.max_memory_per_peer}}});
  out.scopes.push_back({"ip", "busiest", {{"connections", busiest(per_ip_), limits_.max_connections_per_ip}}});
  std::size_t connection_memory = 0;
  for (const auto* memory : connection_memories_) connection_memory = std::max(connection_memory, memory->taken());
  // The connection scope's stream count is Yamux's; the host adds it (Host::resource_usage()).
  out.scopes.push_back({"connection", "busiest", {{"memory", connection_memory, limits_.max_memory_per_connection}}});
  auto add_scopes = [&out](const char* kind, const auto& scopes, auto limits_of) {
    for (const auto& [name, counts] : scopes) {
      const ScopeLimits& limits = limits_of(name);
      out.scopes.push_back({kind, name, {{"streams", counts.streams, limits.streams},
                                         {"streams_per_peer", busiest(counts.streams_by_peer), limits.streams_per_peer},
                                         {"memory", counts.memory, limits.memory}}});
    }
  };
  add_scopes("protocol", protocols_, [this](const std::string& name) -> const ScopeLimits& { return limits_.protocol(name); });
  add_scopes("service", services_, [this](const std::string& name) -> const ScopeLimits& { return limits_.service(name); });
  return out;
}

}  // namespace stargate::p2p
