#pragma once
// Resource limits organised in scopes, as go-libp2p's resource manager is (the limits and what
// each scope means: resource_limits.hpp). Pure bookkeeping, no I/O: the host asks before it
// accepts a connection, opens or accepts a stream, or lets a Yamux window grow, and a service
// asks before it buffers a message; every grant is a handle that gives its share back when it
// goes, however the work ends.
#include "base/result.hpp"
#include "p2p/host/asio.hpp"
#include "base/fair_share.hpp"
#include "p2p/host/resource_limits.hpp"
#include "p2p/yamux/memory_budget.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace stargate::p2p {

class ResourceManager;
class ConnectionMemory;

// A stream or reservation refused because a scope is full; what() names the scope and its limit.
class ResourceLimitExceeded : public ErrorException {
 public:
  using ErrorException::ErrorException;
};

// A handshake or connection reservation held for as long as the object lives. It may outlive the
// manager (a connection that closes after its host is gone): then releasing does nothing.
class ResourceGrant {
 public:
  ResourceGrant() = default;
  ResourceGrant(ResourceGrant&& other) noexcept { *this = std::move(other); }
  ResourceGrant& operator=(ResourceGrant&& other) noexcept;
  ~ResourceGrant() { release(); }
  void release();
  explicit operator bool() const { return held_; }
  // A handshake's number in the pending-handshake table (0 for a connection).
  std::uint64_t handshake_id() const { return handshake_id_; }

 private:
  friend class ResourceManager;
  enum class Kind { handshake, connection };
  ResourceGrant(std::weak_ptr<ResourceManager> manager, Kind kind, std::string ip, std::string peer,
                std::uint64_t handshake_id = 0)
      : manager_(std::move(manager)),
        held_(true),
        kind_(kind),
        handshake_id_(handshake_id),
        ip_(std::move(ip)),
        peer_(std::move(peer)) {}
  std::weak_ptr<ResourceManager> manager_;
  bool held_ = false;
  Kind kind_ = Kind::handshake;
  std::uint64_t handshake_id_ = 0;
  std::string ip_;
  std::string peer_;
};

// A handshake admitted (or not) into the transient scope.
struct HandshakeStart {
  ResourceGrant grant;  // empty: refused, `why` says which limit
  // The handshake that gave its slot to this one (its source held the most): abort it.
  std::optional<std::uint64_t> evicted;
  std::string evicted_source;
  bool under_pressure = false;  // half the slots or more are taken: use the shorter timeout
};

// Bytes reserved through a stream (its protocol, service, peer and the system), given back when
// the grant goes.
class MemoryGrant {
 public:
  MemoryGrant() = default;
  MemoryGrant(MemoryGrant&& other) noexcept { *this = std::move(other); }
  MemoryGrant& operator=(MemoryGrant&& other) noexcept;
  ~MemoryGrant() { release(); }
  void release();
  explicit operator bool() const { return bytes_ > 0; }
  std::size_t bytes() const { return bytes_; }

 private:
  friend class StreamScope;
  std::weak_ptr<ResourceManager> manager_;
  std::string peer_;
  std::string protocol_;
  std::string service_;
  std::size_t bytes_ = 0;
};

// One stream's place in the scopes: counted in the system and its peer from the start, in the
// transient scope until its protocol is known, then in that protocol's scope and its service's.
class StreamScope {
 public:
  StreamScope() = default;
  StreamScope(StreamScope&& other) noexcept { *this = std::move(other); }
  StreamScope& operator=(StreamScope&& other) noexcept;
  ~StreamScope() { release(); }
  void release();
  explicit operator bool() const { return held_; }

  // Moves the stream from the transient scope into `protocol`'s and its service's; false, with
  // `why`, when either is full (the stream keeps its transient place: reset it).
  bool set_protocol(std::string_view protocol, std::string& why);
  // Reserves `bytes` along the stream's scopes (its protocol and service once it has one); an
  // empty grant, with `why`, when any of them has no room.
  MemoryGrant reserve_memory(std::size_t bytes, std::string& why);
  const std::string& protocol() const { return protocol_; }
  const std::string& service() const { return service_; }

 private:
  friend class ResourceManager;
  std::weak_ptr<ResourceManager> manager_;
  bool held_ = false;
  bool negotiating_ = true;
  std::string peer_;
  std::string protocol_;
  std::string service_;
};

// Usage against limits, for `stargate status` and metrics. `limit` is kUnlimited when none.
struct ResourceGauge {
  std::string resource;  // connections, streams, memory, handshakes, streams_per_peer, ...
  std::size_t used = 0;
  std::size_t limit = kUnlimited;
};
struct ScopeUsage {
  std::string scope;  // system, transient, peer, ip, connection, protocol, service
  std::string name;   // the protocol ID or service name; for peer/ip/connection: "busiest"
  std::vector<ResourceGauge> gauges;
};
struct ResourceUsage {
  std::vector<ScopeUsage> scopes;
  std::size_t peers = 0;  // peers with a connection or a stream
  // Refusals since start, by "scope resource" (e.g. "service streams", "peer memory").
  std::map<std::string, std::uint64_t> refusals;
};

class ResourceManager : public std::enable_shared_from_this<ResourceManager> {
 public:
  // Always owned by a shared_ptr: grants refer to it weakly.
  static std::shared_ptr<ResourceManager> create(ResourceLimits limits) {
    return std::shared_ptr<ResourceManager>(new ResourceManager(std::move(limits)));
  }
  const ResourceLimits& limits() const { return limits_; }

  // Admits a connection into its handshake; on refusal, `why` says which limit. `source` is the
  // remote IP of an inbound connection ("circuit" for a relayed one); none for our own outbound
  // handshakes, which are never evicted.
  HandshakeStart begin_handshake(const std::optional<asio::ip::address>& remote, bool relayed, std::string& why);
  ResourceGrant begin_handshake(std::string& why) { return begin_handshake(std::nullopt, false, why).grant; }
  // Counts a refusal made outside the manager (an IP in back-off) under "scope resource".
  void count_refusal(const std::string& scope_resource) { ++refusals_[scope_resource]; }
  // Admits an authenticated connection from/to `peer`; `remote` is none for a relayed connection
  // (it has no address of its own: the relay's limits bound those).
  ResourceGrant admit_connection(const std::optional<asio::ip::address>& remote, const std::string& peer,
                                 std::string& why);
  // Admits a new stream with `peer`, inbound or outbound, before its protocol is negotiated.
  StreamScope open_stream(const std::string& peer, std::string& why);
  // The Yamux window memory of one connection to `peer` (its growth beyond the initial window).
  std::unique_ptr<yamux::MemoryBudget> connection_memory(const std::string& peer);

  // Puts `protocol`'s streams under `service` (a service may speak several protocols: relay hop
  // and stop, gossipsub's three). Streams already open keep the service they had.
  void set_service(const std::string& protocol, const std::string& service);

  std::size_t connections() const { return connections_; }
  std::size_t pending_handshakes() const { return handshakes_.taken(); }
  std::size_t streams() const { return system_.streams; }
  std::size_t memory() const { return system_.memory; }
  ResourceUsage usage() const;

 private:
  friend class ResourceGrant;
  friend class StreamScope;
  friend class MemoryGrant;
  friend class ConnectionMemory;
  struct Counts {
    std::size_t streams = 0;
    std::size_t memory = 0;
    std::unordered_map<std::string, std::size_t> streams_by_peer;  // protocol and service scopes
  };
  struct PeerCounts {
    std::size_t connections = 0;
    std::size_t streams = 0;
    std::size_t negotiating = 0;  // of `streams`, those still in the transient scope
    std::size_t memory = 0;
    bool empty() const { return connections == 0 && streams == 0 && memory == 0; }
  };

  explicit ResourceManager(ResourceLimits limits)
      : limits_(std::move(limits)),
        handshakes_({limits_.max_pending_handshakes, limits_.max_pending_handshakes_per_ip}) {}
  void release(ResourceGrant::Kind kind, const std::string& ip, const std::string& peer, std::uint64_t handshake_id);
  void release_stream(const StreamScope& scope);
  bool enter_protocol(StreamScope& scope, std::string_view protocol, std::string& why);
  bool reserve(const std::string& peer, const std::string& protocol, const std::string& service, std::size_t bytes,
               std::string& why);
  void release_memory(const std::string& peer, const std::string& protocol, const std::string& service,
                      std::size_t bytes);
  std::size_t memory_room(const std::string& peer) const;
  void refuse(const char* scope, const char* resource, std::string& why, std::string message);
  void drop_peer_if_empty(const std::string& peer);

  ResourceLimits limits_;
  std::size_t connections_ = 0;
  FairShare handshakes_;
  std::size_t negotiating_ = 0;
  Counts system_;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::unordered_map<std::string, PeerCounts> per_peer_;
  std::map<std::string, Counts, std::less<>> protocols_;
  std::map<std::string, Counts, std::less<>> services_;
  std::map<std::string, std::string, std::less<>> service_of_;
  std::map<std::string, std::uint64_t> refusals_;
  std::vector<const ConnectionMemory*> connection_memories_;
};

}  // namespace stargate::p2p
