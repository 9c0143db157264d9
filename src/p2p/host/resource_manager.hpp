#pragma once
// Resource limits organised in scopes, as go-libp2p's resource manager is: system (the whole
// node), transient (connections still in their handshake), per peer, per connection, per stream.
// Pure bookkeeping, no I/O: the host asks before it accepts, dials or opens, and releases after.
#include "p2p/host/asio.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate::p2p {

struct ResourceLimits {
  std::size_t max_connections = 512;          // system scope
  std::size_t max_pending_handshakes = 64;    // transient scope
  std::size_t max_connections_per_peer = 8;   // peer scope
  std::size_t max_connections_per_ip = 16;    // loopback is exempt
  std::size_t max_streams_per_connection = 512;
  std::size_t max_stream_buffer = 16 * 1024 * 1024;  // bytes buffered per stream (yamux max window)
};

// A reservation held for as long as the object lives. It may outlive the manager (a connection
// that closes after its host is gone): then releasing does nothing.
class ResourceManager;
class ResourceGrant {
 public:
  ResourceGrant() = default;
  ResourceGrant(ResourceGrant&& other) noexcept { *this = std::move(other); }
  ResourceGrant& operator=(ResourceGrant&& other) noexcept;
  ~ResourceGrant() { release(); }
  void release();
  explicit operator bool() const { return held_; }

 private:
  friend class ResourceManager;
  enum class Kind { handshake, connection };
  ResourceGrant(std::weak_ptr<ResourceManager> manager, Kind kind, std::string ip, std::string peer)
      : manager_(std::move(manager)), held_(true), kind_(kind), ip_(std::move(ip)), peer_(std::move(peer)) {}
  std::weak_ptr<ResourceManager> manager_;
  bool held_ = false;
  Kind kind_ = Kind::handshake;
  std::string ip_;
  std::string peer_;
};

class ResourceManager : public std::enable_shared_from_this<ResourceManager> {
 public:
  // Always owned by a shared_ptr: grants refer to it weakly.
  static std::shared_ptr<ResourceManager> create(ResourceLimits limits) {
    return std::shared_ptr<ResourceManager>(new ResourceManager(limits));
  }
  const ResourceLimits& limits() const { return limits_; }

  // Admits a connection into its handshake; on refusal, `why` says which limit.
  ResourceGrant begin_handshake(std::string& why);
  // Admits an authenticated connection from/to `peer`; `remote` is none for a relayed connection
  // (it has no address of its own: the relay's limits bound those).
  ResourceGrant admit_connection(const std::optional<asio::ip::address>& remote, const std::string& peer,
                                 std::string& why);

  std::size_t connections() const { return connections_; }
  std::size_t pending_handshakes() const { return handshakes_; }

 private:
  friend class ResourceGrant;
  explicit ResourceManager(ResourceLimits limits) : limits_(limits) {}
  void release(ResourceGrant::Kind kind, const std::string& ip, const std::string& peer);
  ResourceLimits limits_;
  std::size_t connections_ = 0;
  std::size_t handshakes_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, std::size_t> per_peer_;
};

}  // namespace stargate::p2p
