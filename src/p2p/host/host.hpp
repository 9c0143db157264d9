#pragma once
// A libp2p host: listeners and a dialer feeding one upgrade pipeline
// (TCP -> multistream-select -> Noise -> multistream-select -> Yamux), a protocol router for
// inbound streams, a peer store and resource limits. Identify, ping, perf and echo are enabled
// by the functions in p2p/protocols/ (see enable_standard_protocols()).
#include "base/multiaddr.hpp"
#include "base/offenders.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/asio.hpp"
#include "p2p/host/muxed_connection.hpp"
#include "p2p/host/peer_store.hpp"
#include "p2p/host/resource_manager.hpp"
#include "p2p/pool/connection_pool.hpp"
#include "p2p/tcp/byte_counters.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stargate::p2p {

inline constexpr const char* yamux_protocol_id = "/yamux/1.0.0";

struct HostConfig {
  std::string agent_version = "stargate/0.1.0";
  std::string protocol_version = "ipfs/0.1.0";
  MuxedConnectionConfig mux;
  ResourceLimits limits;
  std::chrono::milliseconds dial_timeout{10'000};
  // Noise handshake plus muxer negotiation.
  std::chrono::milliseconds upgrade_timeout{10'000};
  // The same for a handshake that starts while half the pending-handshake slots or more are taken:
  // a flood of silent sockets then holds each slot for less time.
  std::chrono::milliseconds upgrade_timeout_under_pressure{2'000};
  // An IP whose handshakes keep stalling (timed out, or evicted to make room for other sources) is
  // refused at accept() for `backoff` after `strikes` of them within `window` (loopback is exempt
  // while limits.loopback_exempt).
  OffenderTracker::Config handshake_offenders{5, std::chrono::milliseconds(60'000), std::chrono::milliseconds(60'000),
                                              10'000};
  // multistream-select on a new stream.
  std::chrono::milliseconds negotiation_timeout{10'000};
  // Outgoing TCP connections leave from the listen port (SO_REUSEADDR + SO_REUSEPORT), so that the
  // address peers observe is the NAT's mapping of that port: what hole punching needs. A dial
  // whose 4-tuple is taken (TIME_WAIT of an earlier connection) falls back to an ephemeral port.
  bool dial_from_listen_port = true;
  // Connection pool: cap and idle timeout (docs/limits.md, "Connection pool").
  pool::PoolConfig pool;
};

// DCUtR's roles on a hole-punched connection: A (the peer that dialed the relayed connection) is
// the client of the security handshake and B the server, whichever socket came from accept().
enum class PunchRole { client, server };

using StreamHandler = std::function<awaitable<void>(std::shared_ptr<MuxedStream>)>;
using ConnectionHook = std::function<void(const std::shared_ptr<MuxedConnection>&)>;
// Dials a /p2p-circuit address (installed by the relay client; the host itself speaks only TCP).
using CircuitDialer = std::function<awaitable<std::shared_ptr<MuxedConnection>>(Multiaddr)>;

// Where a raw byte stream came from, for upgrade(): TCP sockets and relayed circuits alike.
struct UpgradeContext {
  bool outbound = false;
  std::optional<crypto::PeerId> expected;  // the peer this must be (else the upgrade fails)
  Multiaddr local_addr;
  Multiaddr remote_addr;
  // For the per-IP connection limit; none for a relayed connection (the relay bounds those).
  std::optional<asio::ip::address> remote_ip;
  bool relayed = false;
  std::optional<std::uint64_t> data_limit;  // a relayed connection's limits, as the relay said
  std::optional<std::chrono::seconds> duration_limit;
};

class Host {
 public:
  Host(asio::any_io_executor executor, crypto::Ed25519PrivateKey identity, HostConfig config = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const crypto::PeerId& peer_id() const;
  const crypto::Ed25519PrivateKey& identity() const;
  const HostConfig& config() const;
  asio::any_io_executor executor() const;

  // Binds and starts accepting; returns the bound address (port 0 resolved). Throws on failure.
  Multiaddr listen(const Multiaddr& addr);
  std::vector<Multiaddr> listen_addrs() const;

  // What peers are told (identify, announcements): listen addresses, with an unspecified address
  // (0.0.0.0, ::) replaced by this host's interface addresses, then the external addresses.
  std::vector<Multiaddr> advertised_addrs() const;
  // Addresses known by other means, under a name so each source replaces only its own: a relay
  // client's /p2p-circuit addresses, an operator's --announce-addr.
  void set_external_addrs(const std::string& source, std::vector<Multiaddr> addrs);
  // Runs after the advertised addresses changed (identify pushes them, agents re-announce).
  void on_addrs_changed(std::function<void()> hook);

  void set_handler(const std::string& protocol, StreamHandler handler);
  // Stops answering `protocol` (streams already open keep running).
  void remove_handler(const std::string& protocol);
  std::vector<std::string> protocols() const;
  // Runs for every new connection, inbound or outbound, once it is upgraded.
  void on_connection(ConnectionHook hook);

  // Dials and upgrades; a /p2p/ suffix makes the peer ID checked. Reuses an open connection to
  // that peer when there is one (a direct one, for a direct address). A /p2p-circuit address goes
  // to the circuit dialer.
  awaitable<std::shared_ptr<MuxedConnection>> connect(const Multiaddr& addr);
  void set_circuit_dialer(CircuitDialer dialer);
  // TCP hole punch: after `delay`, dials every address of `addrs` (TCP over IP only) at once from
  // the listen port, so that the peer's simultaneous dial meets ours in both NATs, and upgrades the
  // first socket that connects with `role`, including one accepted from those addresses from now
  // on (the peer's SYN may reach our listener first). Throws when nothing connected within
  // `timeout` after the delay, or when there is no listen port to dial from.
  awaitable<std::shared_ptr<MuxedConnection>> punch(const crypto::PeerId& peer, std::vector<Multiaddr> addrs,
                                                    PunchRole role, Clock::duration timeout,
                                                    Clock::duration delay = Clock::duration::zero());
  // Secures (Noise) and multiplexes (Yamux) a raw byte stream, then registers the connection like
  // any other: the relay client runs its circuits through this.
  awaitable<std::shared_ptr<MuxedConnection>> upgrade(std::unique_ptr<ByteStream> raw, UpgradeContext context);
  // Reuses a connection or dials the addresses in the peer store.
  awaitable<std::shared_ptr<MuxedConnection>> connect(const crypto::PeerId& peer);
  // With a single protocol, selection is optimistic: the stream is returned at once and its first
  // read fails if the peer refuses the protocol. With several, waits for the peer's choice.
  // `confirmed` waits for the peer's answer even with one protocol: a refusal then fails here, with
  // multistream's "not supported" message, rather than at the first read.
  awaitable<std::shared_ptr<MuxedStream>> open_stream(const std::shared_ptr<MuxedConnection>& connection,
                                                      std::vector<std::string> protocols, bool confirmed = false);

  // A dial-back probe (AutoNAT): a fresh TCP connection from an ephemeral port (never a pooled
  // connection, never the listen port), upgraded until `expected` is authenticated (Noise) and a
  // muxer agreed, then closed without being registered or reused. Returns the address reached;
  // throws when the dial, the handshake or `timeout` fails, or another peer answers.
  awaitable<Multiaddr> probe_dial(const Multiaddr& addr, crypto::PeerId expected, std::chrono::milliseconds timeout);

  // An open connection to `peer`, a direct one when there is one.
  std::shared_ptr<MuxedConnection> find_connection(const crypto::PeerId& peer) const;
  std::vector<std::shared_ptr<MuxedConnection>> connections() const;
  // find_connection(), counted as a pool hit (and a use of that connection) when there is one;
  // for callers that dial themselves when there is none (connect() counts that miss).
  std::shared_ptr<MuxedConnection> reuse_connection(const crypto::PeerId& peer);
  // The same, only among relayed (or only among direct) connections.
  std::shared_ptr<MuxedConnection> reuse_connection(const crypto::PeerId& peer, bool relayed);

  // Connection pool: every connection is tracked; idle ones are closed after
  // config().pool.idle_timeout, the least recently used idle ones above max_connections. A
  // connection with streams open, or to a protected peer, is never closed by the pool.
  pool::PoolStats pool_stats() const;
  // Bytes read from and written to this host's TCP sockets since it was created: every
  // connection's bytes as they travel (multistream, Noise and Yamux framing included), also those
  // of handshakes that failed and of AutoNAT dial-backs. A relayed connection's bytes travel inside
  // the TCP connection to its relay and are counted there, once.
  ByteCounters traffic() const;
  // Pins the connections to `peer` while any tag is set (a relay holding our reservation).
  void protect(const crypto::PeerId& peer, const std::string& tag);
  // Returns whether `peer` is still protected under another tag.
  bool unprotect(const crypto::PeerId& peer, const std::string& tag);
  PeerStore& peer_store();
  const PeerStore& peer_store() const;
  ResourceManager& resources();
  // The resource manager's usage against every limit, with the connection scope's stream count
  // (kept by Yamux) filled in.
  ResourceUsage resource_usage() const;

  // Stops listening and closes every connection.
  void close();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace stargate::p2p
