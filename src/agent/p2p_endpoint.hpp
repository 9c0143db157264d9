#pragma once
// An agent's libp2p side: a host with the standard protocols, agent calls (/stargate/a2a/1.0.0),
// and Circuit Relay v2 (reservations on the configured relays, circuits accepted and dialed). It
// can always dial; it listens only where told (listen addresses, relays).
#include "agent/a2a_io.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/dcutr/dcutr_io.hpp"
#include "p2p/protocols/autonat/autonat_io.hpp"
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"
#include "p2p/protocols/identify/identify_io.hpp"
#include "p2p/protocols/kad/kad_io.hpp"
#include "p2p/protocols/relay/auto_relay_io.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_monitor_io.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stargate::agent {

struct P2pOptions {
  std::vector<std::string> listen_addrs;    // multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/4001
  std::vector<std::string> relays;          // relays to reserve on, each ending in /p2p/<relay>
  std::vector<std::string> announce_addrs;  // addresses to advertise besides the listen ones
  std::vector<std::string> treat_as_public;  // CIDRs AutoNAT counts as public (docs/reachability.md)
  // Health probes of the relays and how many of them to hold reservations on (docs/relay.md).
  p2p::relay::RelayMonitorOptions relay_health;
  p2p::pool::PoolConfig pool{};              // the host's connection pool (docs/limits.md)
  // The DHT (docs/dht.md): none when off. `follow_reachability` switches between client and
  // server mode as AutoNAT finds the node private or public. The relays are bootstrap peers too.
  struct Dht {
    p2p::kad::DhtMode mode = p2p::kad::DhtMode::client;
    bool follow_reachability = true;
    std::vector<std::string> bootstrap;
    std::string protocol{p2p::kad::kDefaultProtocol};
    // When a peer that keeps sending refused DHT requests is backed off ([limits] strikes).
    OffenderTracker::Config offenders{};
    std::size_t disjoint_paths = 1;  // lookups' disjoint paths (LookupConfig::disjoint_paths)
  };
  std::optional<Dht> dht;
  // Gossipsub (/meshsub/1.1.0): announcements on the traylinx.announce topic (docs/dht.md).
  bool gossip = true;
  p2p::ResourceLimits resources{};  // the host's resource manager (docs/limits.md)
  A2aServeOptions a2a{};            // calls served: shares of the calls in flight, read deadlines
};

class P2pEndpoint {
 public:
  P2pEndpoint(p2p::asio::any_io_executor executor, const crypto::Ed25519PrivateKey& identity, P2pOptions options);
  ~P2pEndpoint();

  // Listens and starts reserving; requests arrive at `handle`. Throws on an address that does not
  // parse or cannot be bound.
  void start(A2aRequestHandler handle, A2aStreamService streams = {});
  bool listening() const;
  // The advertised addresses, each ending in /p2p/<our PeerId> (circuit addresses included).
  std::vector<std::string> addresses() const;
  void on_addresses_changed(std::function<void()> hook);

  // Which connections a call may use.
  enum class Path { any, direct_only, relayed_only };
  struct Answer {
    std::string response;
    bool relayed = false;  // the connection that carried it
  };
  // Reaches `peer` (an open connection the path allows, else the first of `addrs` that works) and
  // runs one call. relayed_only dials a new circuit even when a direct connection exists. Circuits
  // through relays our monitor finds unhealthy are tried last, and a relayed connection whose data
  // limit is smaller than the request is passed over for the next address (another relay may
  // allow more). An open connection on which the call fails is closed and the call tried once more
  // over `addrs`. Throws ErrorException naming every address that failed.
  p2p::awaitable<Answer> call(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs,
                              const std::string& request, Path path = Path::any);
  // The same walk over connections for a streamed call: `exchange` runs the stream on the
  // connection chosen (a2a_stream_call); a pooled connection on which it fails is closed and the
  // walk goes on, the exchange resuming where the last one stopped.
  using Exchange = std::function<p2p::awaitable<std::string>(std::shared_ptr<p2p::MuxedConnection>)>;
  p2p::awaitable<Answer> call_with(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs,
                                   std::size_t request_size, Path path, Exchange exchange);

  p2p::Host& host() { return host_; }
  p2p::relay::RelayClient& relay_client() { return *relay_client_; }
  const p2p::dcutr::DcutrService& dcutr() const { return *dcutr_; }
  // AutoNAT client and server, NAT classification: started by start() (a client-only node, which
  // never starts, neither probes nor serves), null before.
  p2p::autonat::ReachabilityService* autonat() { return autonat_.get(); }
  // Health of the configured relays: null without configured relays (or before start()).
  const p2p::relay::RelayMonitor* relay_monitor() const { return relay_monitor_.get(); }
  // The DHT: null when off (or before start()).
  p2p::kad::Dht* dht() { return dht_.get(); }
  // Gossipsub: null when off (or before start()).
  p2p::gossipsub::GossipsubService* gossip() { return gossip_.get(); }
  // For a node without configured relays: looks up the providers of `relay_key` in the DHT, pings
  // them, and stays connected to the `keep` with the lowest RTT, which AutoRelay reserves on once
  // AutoNAT finds the node private. Returns how many relays answered.
  p2p::awaitable<std::size_t> connect_relays_from_dht(Bytes relay_key, std::size_t keep = 3);
  void close();

 private:
  P2pOptions options_;
  p2p::Host host_;
  std::shared_ptr<p2p::identify::IdentifyService> identify_;
  std::shared_ptr<p2p::relay::RelayClient> relay_client_;
  std::shared_ptr<p2p::dcutr::DcutrService> dcutr_;
  std::shared_ptr<p2p::autonat::ReachabilityService> autonat_;
  std::shared_ptr<p2p::relay::AutoRelay> auto_relay_;  // only without configured relays
  std::shared_ptr<p2p::relay::RelayMonitor> relay_monitor_;  // only with configured relays
  std::shared_ptr<p2p::kad::Dht> dht_;
  std::shared_ptr<p2p::gossipsub::GossipsubService> gossip_;
  void enable_dht();

  std::vector<Multiaddr> in_order_of_preference(const std::vector<Multiaddr>& addrs) const;

};

// The addresses of `text` list that parse, with the reason for each that does not.
Result<std::vector<Multiaddr>> parse_multiaddrs(const std::vector<std::string>& text, std::string_view what);

}  // namespace stargate::agent
