#pragma once
// The libp2p resource manager's limits (docs/limits.md, "Resource manager"; NodeOptions::resources), scope by scope, as
// go-libp2p's rcmgr organises them: the whole node (system), what is not yet attributed
// (transient: handshakes, streams still in multistream-select), each peer, each remote IP, each
// connection, and each protocol and service a stream belongs to once negotiated.
//
// Memory is what a scope has reserved before allocating it: Yamux receive windows grown beyond
// their initial 256 KiB (connection → peer → system), and buffers a service takes for a message
// or a circuit (stream → protocol → service → peer → system). A reservation that does not fit is
// refused, so the work is never started.
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <string>

namespace stargate {

inline constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
inline constexpr std::size_t kMiB = 1024 * 1024;

// The limits of one protocol or service scope.
struct ScopeLimits {
  std::size_t streams = kUnlimited;           // open streams, both directions, all peers
  std::size_t streams_per_peer = kUnlimited;  // open streams with any one peer
  std::size_t memory = kUnlimited;            // bytes reserved by its streams
};

struct ResourceLimits {
  // System scope: the whole node.
  std::size_t max_connections = 512;
  std::size_t max_streams = 8192;
  std::size_t max_memory = 1024 * kMiB;
  // Transient scope: connections in their handshake, streams before their protocol is agreed.
  // Pending handshakes are shared among source IPs: one IP holds at most
  // max_pending_handshakes_per_ip, and when all are taken, a newcomer from an IP holding fewer
  // takes the oldest slot of the IP holding the most (docs/limits.md, "Pending handshakes").
  std::size_t max_pending_handshakes = 64;
  std::size_t max_pending_handshakes_per_ip = 16;
  std::size_t max_negotiating_streams = 1024;
  // One peer's share of those, so that a peer opening streams it never negotiates cannot take
  // the transient scope from everyone else.
  std::size_t max_negotiating_streams_per_peer = 256;
  // Peer scope.
  std::size_t max_connections_per_peer = 8;
  std::size_t max_streams_per_peer = 1024;
  std::size_t max_memory_per_peer = 128 * kMiB;
  // Per remote IP.
  std::size_t max_connections_per_ip = 16;
  // Loopback addresses are exempt from the per-IP caps (connections, pending handshakes) and
  // from the handshake back-off: tests and local agents run many nodes on one address. They still
  // take part in the fair sharing of pending handshakes among IPs.
  bool loopback_exempt = true;
  // Connection scope (also Yamux's own stream cap and receive-window growth budget).
  std::size_t max_streams_per_connection = 512;
  std::size_t max_memory_per_connection = 64 * kMiB;
  std::size_t max_stream_buffer = 16 * kMiB;  // one stream's receive window at most
  // Protocol and service scopes: the defaults, then overrides by protocol ID or service name.
  ScopeLimits protocol_default{2048, 256, 256 * kMiB};
  ScopeLimits service_default{4096, 512, 512 * kMiB};
  std::map<std::string, ScopeLimits, std::less<>> protocols;
  std::map<std::string, ScopeLimits, std::less<>> services;

  const ScopeLimits& protocol(std::string_view id) const {
    auto it = protocols.find(id);
    return it == protocols.end() ? protocol_default : it->second;
  }
  const ScopeLimits& service(std::string_view name) const {
    auto it = services.find(name);
    return it == services.end() ? service_default : it->second;
  }
};

}  // namespace stargate
