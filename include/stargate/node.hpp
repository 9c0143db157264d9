#pragma once
// StarGateNode: an agent on the Stargate network. It has an Ed25519 identity, announces its
// name and capabilities, discovers other agents, serves JSON-RPC 2.0 methods and calls other
// agents' methods. Agents meet through a NATS broker (calls sealed end to end with Noise IK, so
// the broker can neither read, forge nor replay them) and call each other over libp2p
// (/stargate/a2a/1.0.0, directly or through a Circuit Relay v2 relay) when they announce libp2p
// addresses; a call that cannot go over libp2p goes through the broker.
//
// All methods run on the executor given at construction (one io_context; no thread per call).
// Handlers are coroutines: a slow one never blocks the node or other calls.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include "stargate/resource_limits.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stargate {

// The transports a node calls over; NodeOptions::transports gives the order they are tried in.
enum class Transport { libp2p, nats };
std::string_view to_string(Transport transport);
std::optional<Transport> parse_transport(std::string_view text);  // "libp2p", "nats"

// The Kademlia DHT's role (docs/dht.md): auto is a server once AutoNAT finds the node publicly
// reachable and a client until then (the spec's rule: unreachable servers poison routing tables);
// off leaves the DHT out.
enum class DhtMode { auto_, server, client, off };
std::string_view to_string(DhtMode mode);
std::optional<DhtMode> parse_dht_mode(std::string_view text);  // "auto", "server", "client", "off"

struct NodeOptions {
  std::string display_name;
  std::vector<std::string> capabilities;
  // Where the identity (and config.toml) live; empty: $STARGATE_IDENTITY_DIR, then ~/.stargate.
  std::optional<std::filesystem::path> identity_dir;
  // Broker URLs (a cluster: several); empty: $STARGATE_NATS_URL, $NATS_URL, nats://127.0.0.1:4222.
  std::vector<std::string> nats_urls;
  std::string nats_user, nats_password, nats_token, nats_token_file, nats_creds_file;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds default_call_timeout{30'000};
  std::chrono::seconds announce_interval{30};  // each wait up to 10% shorter, at random
  std::chrono::seconds announce_ttl{90};
  // How long discover() collects answers to its query.
  std::chrono::milliseconds discovery_window{300};
  // The most stop() takes, whatever peers and the broker do: each of its waits (the goodbye over
  // gossipsub, the leave announcement's flush to the broker) is cut short when this runs out, and
  // what they still hold is dropped when the node is destroyed. At least 0 (0: no goodbye). Not
  // covered: nats.c closes the broker connection synchronously (about 0.5 s when the broker has
  // stopped reading).
  std::chrono::milliseconds stop_timeout{5'000};
  std::string software = "stargate/0.1.0";
  // libp2p: multiaddrs to listen on (empty: none; the node can still dial), relays to reserve a
  // slot on (each ending in /p2p/<relay>; their /p2p-circuit addresses are then announced), and
  // extra addresses to announce (a public address in front of a 1:1 NAT). With listen addresses or
  // relays, the broker is no longer the only way in: an unreachable one is a warning, and the node
  // keeps trying to connect in the background.
  std::vector<std::string> listen_addrs;
  std::vector<std::string> relays;
  std::vector<std::string> announce_addrs;
  // Relay health (docs/relay.md, "Health and failover"): each relay is pinged every
  // `relay_health_interval`; reservations are held on the first `relay_reservations` healthy
  // relays in the order given (primary first), moving to the next when one goes down.
  std::chrono::milliseconds relay_health_interval{30'000};
  std::size_t relay_reservations = 2;
  // CIDRs counted as public by AutoNAT and NAT classification (docs/reachability.md).
  std::vector<std::string> treat_as_public;
  // Prometheus /metrics and /healthz over HTTP at ADDR:PORT ("127.0.0.1:9464"; port 0 picks one,
  // see NodeStatus::metrics_address); empty, the default for agents: off. Expose it beyond
  // loopback only behind your own access control.
  std::string metrics_listen;
  // libp2p connection pool (docs/limits.md): above pool_max_connections open connections the least
  // recently used idle one is closed, and a connection idle for pool_idle_timeout is closed (one
  // with streams open never is). A new connection is not closed for capacity before it is
  // pool_grace_period old (its dialer is about to use it; tests shorten it). start() throws when
  // the cap is 0 or a duration is not positive.
  std::size_t pool_max_connections = 100;
  std::chrono::milliseconds pool_idle_timeout = std::chrono::minutes(5);
  std::chrono::milliseconds pool_grace_period = std::chrono::seconds(10);
  // libp2p resource manager (docs/limits.md, "Resource manager"): connections, streams and memory
  // per scope (system, transient, peer, IP, connection, protocol, service), checked before work
  // is accepted. NodeStatus::resources shows the usage against them.
  ResourceLimits resources;
  // Abuse prevention (docs/limits.md, "Rate limits"): token buckets for the calls this node serves,
  // per caller (every transport) and per remote IP (direct libp2p connections), and per announcing
  // agent for announcements. A call over its rate is answered -32007 "rate limited" with
  // data.retry_after_ms, without running the handler. A libp2p caller refused
  // `strikes_before_backoff` times within `strike_window` is disconnected and its connections
  // refused for `backoff`; an agent whose announcements are dropped that often is ignored as long.
  // Rates are events per second (> 0), bursts events (>= 1); start() throws on other values.
  struct RateLimits {
    double calls_per_second = 100, calls_burst = 1000;
    double calls_per_ip_per_second = 500, calls_per_ip_burst = 5000;
    double announcements_per_second = 1, announcements_burst = 10;
    std::size_t strikes_before_backoff = 100;
    std::chrono::milliseconds strike_window = std::chrono::seconds(10);
    std::chrono::milliseconds backoff = std::chrono::seconds(60);
    // Calls over libp2p read or served at once: in all, per caller and per remote IP (a caller
    // over its share is answered "rate limited" unread and earns a strike). A caller must send its
    // request's length prefix within request_header_timeout of opening the stream and the whole
    // request within request_timeout, or it is cut off and earns a strike (docs/limits.md).
    std::size_t calls_in_flight = 64, calls_in_flight_per_peer = 16, calls_in_flight_per_ip = 32;
    std::chrono::milliseconds request_header_timeout = std::chrono::seconds(5);
    std::chrono::milliseconds request_timeout = std::chrono::seconds(30);
  };
  RateLimits rate_limits;
  // false: no NATS at all (calls then need libp2p addresses: a multiaddr, or a peer announced
  // before).
  bool use_nats = true;
  // The cascade's order for a call with Via::any: libp2p (pooled connection, direct dial, relayed
  // circuit) then NATS by default. Leaving NATS out is the same as use_nats = false; leaving
  // libp2p out keeps calls off libp2p (the node neither listens nor reserves then).
  std::vector<Transport> transports{Transport::libp2p, Transport::nats};
  // Decentralised discovery (docs/dht.md): the DHT's mode, the peers to join it through (each
  // ending in /p2p/<peer>; the relays are bootstrap peers too), and its protocol ID
  // ("/ipfs/kad/1.0.0" joins the IPFS DHT instead of Stargate's own). Capabilities are published
  // as provider records and the signed announcement as a record, so discover(capability) and
  // call(agent_id) work with no broker.
  DhtMode dht_mode = DhtMode::auto_;
  std::vector<std::string> bootstrap;
  std::string dht_protocol = "/stargate/kad/1.0.0";
  // Disjoint lookup paths (S/Kademlia): with d > 1 a lookup follows d paths that share no peer,
  // so peers that lie lead only their own path astray, at the cost of more requests (docs/dht.md).
  std::size_t dht_disjoint_paths = 1;
  // How often the announcement record and provider records are published again.
  std::chrono::seconds dht_republish_interval{1800};
  // A client-only node (a one-shot CLI call) neither announces itself nor serves methods; it can
  // still discover and call, and callees still learn who called (sessions are authenticated).
  bool client_only = false;
};

// A JSON-RPC error, raised by handlers to answer with an error and by call() when the call failed.
class CallError : public std::runtime_error {
 public:
  CallError(int code, std::string message, boost::json::value data = nullptr);
  int code() const { return code_; }
  const boost::json::value& data() const { return data_; }
  // {"code":…, "message":…, "data":…}
  boost::json::value to_json() const;

 private:
  int code_;
  boost::json::value data_;
};

// The path a call takes. `any` is the cascade: libp2p (a direct connection, else through a relay)
// first, then NATS. The others force one tier, for diagnosis and demos: no fallback then.
enum class Via { any, direct, relay, nats };
std::string_view to_string(Via via);
std::optional<Via> parse_via(std::string_view text);  // "any", "direct", "relay", "nats"

struct CallOptions {
  std::optional<std::chrono::milliseconds> timeout;  // none: NodeOptions::default_call_timeout
  Via via = Via::any;
};

struct PeerSummary {
  std::string agent_id;  // 32 hex characters
  std::string peer_id;   // 12D3KooW…
  std::string name;
  std::vector<std::string> capabilities;
  std::vector<std::string> addresses;
  std::string software;
  std::chrono::system_clock::time_point last_seen;
};

struct CallContext {
  std::string method;
  std::string caller_agent_id;  // authenticated: the caller proved it holds this identity
  std::string caller_peer_id;
};

struct NodeStatus {
  std::string agent_id;
  std::string peer_id;
  std::string name;
  bool nats_connected = false;
  std::string metrics_address;  // where /metrics is served (empty: off)
  std::size_t known_peers = 0;
  std::vector<std::string> addresses;  // libp2p addresses announced (with /p2p/<PeerId>)
  struct Reservation {
    std::string relay;  // PeerId
    bool active = false;
    std::chrono::system_clock::time_point expiry;
    std::string last_error;
  };
  std::vector<Reservation> reservations;
  // The configured relays, in order of preference, with what the health monitor knows of them.
  struct Relay {
    std::string relay;  // PeerId
    std::string address;
    std::string health = "unknown";  // "unknown" (not probed yet), "healthy", "unhealthy"
    bool reserving = false;  // one of the relays the node keeps a reservation on
    unsigned consecutive_failures = 0;
    std::optional<double> rtt_ms;  // of the last successful probe
    std::string last_error;
    std::uint64_t probes_ok = 0, probes_failed = 0;
    std::uint64_t became_unhealthy = 0, became_healthy = 0;
  };
  std::vector<Relay> relays;
  struct Connection {
    std::string peer_id;
    std::string remote_addr;
    bool relayed = false;
    bool outbound = false;
  };
  std::vector<Connection> connections;  // open libp2p connections
  std::size_t streams = 0;              // streams open now over all of them
  // DCUtR: hole-punch attempts (both roles), those that ended direct, failures by reason.
  std::uint64_t hole_punch_attempts = 0, hole_punch_successes = 0;
  std::map<std::string, std::uint64_t> hole_punch_failures;
  // AutoNAT's verdict ("public", "private", "unknown") and the NAT in front of the node
  // ("public", "endpoint_independent", "symmetric", "unknown"): docs/reachability.md.
  std::string reachability = "unknown";
  std::string nat_kind = "unknown";
  // Connection pool (docs/limits.md): connections open, connects that reused one (hits) or dialed
  // (misses), connections the pool closed by reason ("idle", "capacity"), and stretches spent
  // above the cap because nothing could be closed.
  std::size_t pool_size = 0;
  std::uint64_t pool_hits = 0, pool_misses = 0, pool_cap_overruns = 0;
  std::map<std::string, std::uint64_t> pool_evictions;
  // Bytes this node received and sent, per transport, since start() (docs/metrics.md). libp2p:
  // everything on its TCP sockets (multistream, Noise and Yamux framing included); a relayed
  // connection's bytes travel inside the TCP connection to the relay and count once, there. NATS:
  // message bytes published to and received from the broker (nats.c's statistics; the protocol
  // lines around them are not counted), announcements and discovery included.
  std::uint64_t libp2p_bytes_in = 0, libp2p_bytes_out = 0;
  std::uint64_t nats_bytes_in = 0, nats_bytes_out = 0;
  std::uint64_t calls_sent = 0, calls_ok = 0, calls_failed = 0;
  std::uint64_t calls_ok_libp2p = 0, calls_ok_nats = 0;
  std::uint64_t calls_ok_direct = 0, calls_ok_relayed = 0;  // the libp2p ones, by connection kind
  std::uint64_t libp2p_attempts_failed = 0;  // libp2p tries that then fell back to NATS (or failed)
  std::uint64_t requests_served = 0, requests_rejected = 0;
  // Inputs refused, by reason (a bounded label: forbidden, invalid_request, chunk_refused,
  // announcement_bad_signature, …; docs/metrics.md, stargate_inputs_rejected).
  std::map<std::string, std::uint64_t> requests_rejected_by;
  // Requests that had run (or were running) already: answered from the first run, not run again.
  std::uint64_t requests_deduplicated = 0;
  // Handlers cancelled: the caller's deadline (sent with the request) passed, or the caller of a
  // streamed call cancelled it or did not come back.
  std::uint64_t handlers_cancelled = 0;
  // Streamed calls served now (running, or keeping frames for a resume), and the bytes of frames
  // they keep that their callers have not acknowledged (docs/protocol.md, "Streamed results").
  std::size_t streams_open = 0;
  std::uint64_t stream_buffered_bytes = 0;
  std::uint64_t streams_resumed = 0;  // re-attached by their caller over a new path
  // The Kademlia DHT (docs/dht.md): mode ("server", "client", "off"), peers in the routing
  // table, records kept for others, requests served and refused, lookups run.
  struct Dht {
    std::string mode = "off";
    std::size_t routing_table_peers = 0, provider_records = 0, value_records = 0;
    std::uint64_t requests_served = 0, requests_refused = 0, requests_sent = 0, requests_failed = 0;
    std::uint64_t lookups = 0, records_refused = 0, requests_rate_limited = 0;
    // Peers the DHT put in back-off for repeated refusals (rate, invalid records), and their
    // inbound connections it closed as they came up (docs/limits.md, "Disconnect and back-off").
    std::uint64_t peers_backed_off = 0, connections_refused_backoff = 0;
    // Rounds in which this agent published its announcement and capabilities (at start, then
    // every dht_republish_interval and after address changes), and when the last one ended.
    std::uint64_t publishes = 0;
    std::chrono::system_clock::time_point last_published{};
  } dht;
  // Calls answered "rate limited" without running the handler (NodeOptions::rate_limits), in all
  // and by the limit that refused them ("peer", "ip", "backoff").
  std::uint64_t requests_rate_limited = 0;
  std::map<std::string, std::uint64_t> requests_rate_limited_by;
  // Callers (libp2p) and announcing agents put in back-off for repeated refusals; connections
  // closed at once because their peer was in back-off.
  std::uint64_t peers_backed_off = 0, connections_refused_backoff = 0;
  // The libp2p resource manager (docs/limits.md, "Resource manager"): usage against every limit,
  // scope by scope (system, transient, the busiest peer, IP and connection, each protocol and
  // service), and what was refused since start, by "scope resource" ("service streams").
  struct Resources {
    struct Gauge {
      std::string scope;     // system, transient, peer, ip, connection, protocol, service
      std::string name;      // a protocol ID or service name; "busiest" for peer, ip, connection
      std::string resource;  // connections, streams, streams_per_peer, memory (bytes), handshakes
      std::size_t used = 0;
      std::optional<std::size_t> limit;  // none: unlimited
    };
    std::vector<Gauge> gauges;
    std::map<std::string, std::uint64_t> refused;
    std::size_t peers = 0;
  } resources;
};

using Handler =
    std::function<boost::asio::awaitable<boost::json::value>(const boost::json::value& params, const CallContext&)>;

// Where a streaming handler (StarGateNode::handle_stream) sends its partial results, before it
// returns the final one (docs/protocol.md, "Streamed results").
class ResultStream {
 public:
  virtual ~ResultStream() = default;
  // Sends one partial result. Waits while the caller has not consumed enough of what was sent (its
  // window, 4 MiB by default): a slow consumer slows the handler, and memory stays bounded. Throws
  // CallError payload_too_large (-32002) for a partial over 1 MiB serialized, and CallError once
  // the call is cancelled (the caller cancelled, its deadline passed, or it did not come back
  // within 30 s of its path breaking); the handler's coroutine is cancelled then too. A unary
  // caller gets only the final result: its partials are dropped here.
  virtual boost::asio::awaitable<void> send(boost::json::value partial) = 0;
  virtual bool cancelled() const = 0;
};
using StreamHandler = std::function<boost::asio::awaitable<boost::json::value>(
    const boost::json::value& params, const CallContext&, ResultStream& partials)>;

namespace agent {
class StreamingCall;
}

// A streamed call's results as they arrive (StarGateNode::call_stream): partials in order, exactly
// once, then the final result. The path under it may break and be replaced (another relay, another
// tier) without the reader noticing anything but the delay. Reading slowly slows the callee.
class CallStream {
 public:
  explicit CallStream(std::shared_ptr<agent::StreamingCall> call);
  CallStream(CallStream&&) noexcept;
  CallStream& operator=(CallStream&&) noexcept;
  // Cancels the call when it has not ended.
  ~CallStream();

  // The next partial result; nullopt once the final result is in (read it with result()). Throws
  // CallError when the call failed (the callee's error, a timeout, no tier reached it).
  boost::asio::awaitable<std::optional<boost::json::value>> next();
  // The final result; partials not read yet are skipped. Throws CallError as next() does.
  boost::asio::awaitable<boost::json::value> result();
  // Stops the callee's handler (it sees cancellation); next() and result() then throw.
  void cancel();
  const std::string& call_id() const;
  // Bytes of frames received and not read yet (at most the window the caller offered, plus the
  // final result).
  std::uint64_t buffered_bytes() const;

 private:
  std::shared_ptr<agent::StreamingCall> call_;
};

class StarGateNode {
 public:
  StarGateNode(boost::asio::any_io_executor executor, NodeOptions options);
  ~StarGateNode();
  StarGateNode(const StarGateNode&) = delete;
  StarGateNode& operator=(const StarGateNode&) = delete;

  // Registers a method. The catch-all (handle_any) answers methods nobody registered.
  void handle(std::string method, Handler handler);
  void handle_any(Handler handler);
  // Registers a method that streams partial results (see ResultStream). A unary call() to it gets
  // its final result alone.
  void handle_stream(std::string method, StreamHandler handler);

  // Loads (or creates) the identity, connects to the broker, subscribes and announces.
  // Throws std::runtime_error with one clear line when the broker cannot be reached.
  boost::asio::awaitable<void> start();
  boost::asio::awaitable<void> announce();
  // Asks every agent online to answer, waits `discovery_window`, returns what is known
  // (optionally only agents with `capability`).
  boost::asio::awaitable<std::vector<PeerSummary>> discover(std::optional<std::string> capability = std::nullopt);
  // `peer`: agent ID, PeerId or display name (an ambiguous name is an error listing the
  // candidates), or a libp2p multiaddr ending in /p2p/<PeerId> (direct, or through a relay's
  // /p2p-circuit). A peer that announced libp2p addresses is called over libp2p first, then over
  // NATS. Throws CallError (JSON-RPC code and message) when the call fails.
  boost::asio::awaitable<boost::json::value> call(std::string peer, std::string method, boost::json::value params,
                                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  boost::asio::awaitable<boost::json::value> call(std::string peer, std::string method, boost::json::value params,
                                                  CallOptions options);
  // A call whose results stream (docs/protocol.md, "Streamed results"): returns once the call is
  // under way; read it with CallStream::next() and result(). The timeout covers the whole stream.
  // A path that breaks mid-stream is replaced (the cascade again: another connection or relay,
  // then NATS), resuming after the last partial received. A callee that does not stream answers
  // with its final result alone.
  boost::asio::awaitable<CallStream> call_stream(std::string peer, std::string method, boost::json::value params,
                                                 CallOptions options = {});
  NodeStatus get_status() const;
  // Prometheus text exposition format.
  std::string get_metrics() const;
  // Says goodbye (leave announcement) and disconnects; returns within NodeOptions::stop_timeout
  // however peers and the broker behave (a goodbye not delivered by then is abandoned).
  boost::asio::awaitable<void> stop();

  const std::string& agent_id() const;
  const std::string& peer_id() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace stargate
