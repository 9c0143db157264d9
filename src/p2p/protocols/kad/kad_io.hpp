#pragma once
// The Kademlia DHT on a Host: the thin coroutine layer around the sans-IO routing table, lookup,
// provider and record stores. Serves FIND_NODE, GET_PROVIDERS, ADD_PROVIDER, GET_VALUE and
// PUT_VALUE (records validated per namespace) in server mode (client
// mode neither answers nor advertises the protocol, so that peers behind NATs do not pollute
// others' routing tables, as the spec requires), runs lookups with α requests in flight, and
// keeps its table fresh: peers learn of it through identify, full buckets check their oldest
// peer with /ipfs/ping/1.0.0, and a refresh lookup runs periodically. A peer that keeps sending
// refused requests is disconnected and backed off.
#include "base/offenders.hpp"
#include "base/signal_io.hpp"
#include "base/token_bucket.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/identify/identify_io.hpp"
#include "p2p/protocols/kad/lookup.hpp"
#include "p2p/protocols/kad/messages.hpp"
#include "p2p/protocols/kad/provider_store.hpp"
#include "p2p/protocols/kad/records.hpp"
#include "p2p/protocols/kad/routing_table.hpp"

#include <map>
#include <set>
#include <memory>
#include <string>

namespace stargate::p2p::kad {

inline constexpr std::string_view kDefaultProtocol = "/stargate/kad/1.0.0";
inline constexpr std::string_view kIpfsProtocol = "/ipfs/kad/1.0.0";

enum class DhtMode { client, server };

struct DhtOptions {
  std::string protocol{kDefaultProtocol};
  DhtMode mode = DhtMode::client;
  std::vector<Multiaddr> bootstrap;  // each ending in /p2p/<peer>
  RoutingTableConfig table{};
  LookupConfig lookup{};
  ProviderStoreConfig providers{};
  RecordStoreConfig records{};
  Clock::duration rpc_timeout = std::chrono::seconds(5);
  // A lookup stops waiting for a request this old (it may still answer): dead peers among the
  // closest must not hold every lookup for the whole rpc_timeout (Lookup::on_stalled).
  Clock::duration stall_after = std::chrono::milliseconds(1500);
  Clock::duration query_timeout = std::chrono::seconds(30);
  Clock::duration refresh_interval = std::chrono::minutes(10);
  Clock::duration republish_interval = std::chrono::hours(22);
  // Requests served on one inbound stream before it is closed.
  std::size_t max_requests_per_stream = 64;
  // Requests a server answers per peer, and per remote IP (direct connections off loopback), as
  // token buckets (docs/limits.md, "Rate limits"); beyond, the stream is reset and counted.
  RateLimit requests_per_peer{50, 200};
  RateLimit requests_per_ip{200, 1000};
  // Each refusal that is the requester's own doing (a request over its own rate, not its IP's; a
  // record that fails validation or is too large; a provider record for another peer; a request
  // that does not decode) is a strike; `strikes` of them within `window` put the peer in back-off
  // for `backoff`: its connections are closed, new ones are closed as soon as they are up, its
  // requests are refused unread, it is neither asked nor added to the routing table (docs/limits.md,
  // "Disconnect and back-off"). Agents pass their [limits] strike settings.
  OffenderTracker::Config offenders{};
};

struct DhtCounters {
  std::uint64_t requests_served = 0;
  std::uint64_t requests_refused = 0;  // malformed, unsupported, or provider records for someone else
  std::uint64_t requests_rate_limited = 0;  // over the per-peer or per-IP rate (also in requests_refused)
  std::uint64_t requests_sent = 0;
  std::uint64_t requests_failed = 0;
  std::uint64_t lookups = 0;
  std::uint64_t providers_stored = 0;
  std::uint64_t records_stored = 0;
  std::uint64_t records_refused = 0;  // invalid, or worse than the one kept
  std::uint64_t liveness_checks = 0;
  std::uint64_t evicted = 0;  // peers that failed a liveness check
  std::uint64_t peers_backed_off = 0;  // times a peer was put in back-off (DhtOptions::offenders)
  std::uint64_t connections_refused_backoff = 0;  // inbound connections closed: their peer was backed off
};

struct LookupResult {
  std::vector<Candidate> closest;        // the k closest peers that answered
  std::vector<PeerEntry> providers;      // GET_PROVIDERS only: distinct providers found
  std::optional<Bytes> value;           // GET_VALUE only: the best valid record found
  std::size_t hops = 0;
  std::size_t requests = 0;
  bool timed_out = false;
};

class Dht : public std::enable_shared_from_this<Dht> {
 public:
  // Hooks into `host` and `identify`; keep the Dht alive as long as the host and close() it first.
  static std::shared_ptr<Dht> enable(Host& host, identify::IdentifyService& identify, DhtOptions options);
  Dht(Host& host, DhtOptions options);

  // Connects to the bootstrap peers and looks up our own key (which fills the buckets near us),
  // then refreshes periodically. Returns the number of bootstrap peers that answered.
  awaitable<std::size_t> bootstrap();
  void add_bootstrap(Multiaddr addr) { options_.bootstrap.push_back(std::move(addr)); }
  bool has_bootstrap_peers() const { return !options_.bootstrap.empty(); }

  // Iterative lookup of the k peers closest to `key`.
  awaitable<LookupResult> find_closest(Bytes key);
  // Tells the k peers closest to `key` (and our own store, in server mode) that we provide it,
  // and republishes it until stop_providing(). Returns how many peers were told.
  awaitable<std::size_t> provide(Bytes key);
  void stop_providing(const Bytes& key) { provided_.erase(key); }
  // Providers of `key`: our store first, then a lookup that stops once `limit` are known.
  awaitable<LookupResult> find_providers(Bytes key, std::size_t limit);

  // Stores `value` under `key` on the k peers closest to it (and locally in server mode); throws
  // when our own validators refuse it. Returns how many peers stored it.
  awaitable<std::size_t> put_value(Bytes key, Bytes value);
  // The best valid record under `key`: ours, else from a lookup that stops at the first valid one.
  awaitable<LookupResult> get_value(Bytes key);
  // Validation for a record namespace ("stargate" for keys "/stargate/..."); /pk/ is built in.
  void add_validator(std::string name_space, RecordValidator validator) { validators_.add(std::move(name_space), std::move(validator)); }

  void set_mode(DhtMode mode);
  DhtMode mode() const { return options_.mode; }
  const std::string& protocol() const { return options_.protocol; }
  const RoutingTable& routing_table() const { return table_; }
  const ProviderStore& provider_store() const { return providers_; }
  const RecordStore& record_store() const { return records_; }
  const DhtCounters& counters() const { return counters_; }
  // Whether `peer` is in back-off for refused requests (DhtOptions::offenders).
  bool backed_off(const crypto::PeerId& peer) const;
  void close();

 private:
  void learn(const PeerInfo& info);
  void add_to_table(const crypto::PeerId& peer, std::vector<Multiaddr> addrs);
  void check_liveness(crypto::PeerId peer);
  awaitable<void> serve(std::shared_ptr<MuxedStream> stream);
  std::optional<Message> answer(const crypto::PeerId& from, const Message& request);
  // Validates a record and keeps it unless the one we have is better; the refusal, if any.
  // `offence` is set when the record itself is bad (invalid, too large), not merely beaten.
  std::string store_record(const Record& record, bool* offence = nullptr);
  awaitable<std::size_t> send_to_closest(const Bytes& key, const Message& message);
  std::vector<PeerEntry> closer_peers(const Bytes& key, const crypto::PeerId& exclude) const;
  // One request to `to`; the response (none for ADD_PROVIDER). Throws on failure or timeout.
  awaitable<std::optional<Message>> request(const Candidate& to, const Message& message);
  // Runs a lookup for `key` with requests of `type`; `on_response` sees every answer and may end
  // the lookup early by returning true.
  awaitable<LookupResult> run_lookup(Bytes key, MessageType type,
                                     std::function<bool(const Candidate&, const Message&)> on_response);
  awaitable<void> maintenance_loop();
  PeerEntry self_entry() const;

  Host& host_;
  identify::IdentifyService* identify_ = nullptr;
  DhtOptions options_;
  RoutingTable table_;
  ProviderStore providers_;
  RecordStore records_;
  RecordValidators validators_;
  DhtCounters counters_;
  std::map<Bytes, Clock::time_point> provided_;  // keys we provide -> last published
  std::set<crypto::PeerId> checking_;  // liveness checks in flight
  RateLimiter<crypto::PeerId> peer_limiter_;
  RateLimiter<std::string> ip_limiter_;
  OffenderTracker offenders_;
  enum class Admission { allowed, ip_limited, peer_limited };
  // Whether the requester and its IP are within their rates (refusals counted).
  Admission admit(const crypto::PeerId& from, const Multiaddr& remote_addr);
  // A refusal that is `peer`'s own doing; the strike that puts it in back-off closes its connections.
  void strike(const crypto::PeerId& peer);
  // Closes new inbound connections from peers in back-off.
  void refuse_backed_off(const std::shared_ptr<MuxedConnection>& connection);
  std::shared_ptr<asio::steady_timer> maintenance_timer_;
  bool closed_ = false;
};

}  // namespace stargate::p2p::kad
