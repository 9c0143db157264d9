#pragma once
// Relay health and failover for the relays a node is configured with. Each relay is pinged
// (/ipfs/ping/1.0.0 over the connection to it, dialed when needed) every `interval`; after
// `failures_before_unhealthy` failed probes in a row it is unhealthy. Reservations are held on the
// first `reservations` relays that are not unhealthy, in the order configured (primary first):
// when the primary goes down the node reserves on the next one; when every relay is down it
// holds none (and is reached through NATS); when a better relay comes back it reserves there again
// at once and lets the extra one go. A lost reservation (the relay restarted or died) triggers a
// probe right away, and a failing relay is probed every `retry_interval` until it is declared
// down, so an outage is noticed within seconds, not within three intervals.
#include "p2p/host/host.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/protocols/relay/relay_health.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace stargate::p2p::relay {

struct RelayMonitorOptions {
  std::chrono::milliseconds interval{30'000};
  std::chrono::milliseconds retry_interval{1'000};  // between probes of a relay that just failed one
  std::chrono::milliseconds probe_timeout{10'000};
  unsigned failures_before_unhealthy = 3;
  std::size_t reservations = 2;
};

struct RelayStatus {
  RelayHealthRecord health;
  Multiaddr addr;
  bool reserving = false;  // one of the relays the node holds (or is making) a reservation on
};

class RelayMonitor : public std::enable_shared_from_this<RelayMonitor> {
 public:
  // Starts probing `relays` (each ending in /p2p/<relay>, in order of preference) and keeps the
  // client's reservations on the preferred ones. Throws on an address without a relay ID.
  static std::shared_ptr<RelayMonitor> start(Host& host, std::shared_ptr<RelayClient> client,
                                             const std::vector<Multiaddr>& relays, RelayMonitorOptions options = {});
  RelayMonitor(Host& host, std::shared_ptr<RelayClient> client, std::vector<std::pair<crypto::PeerId, Multiaddr>> relays,
               RelayMonitorOptions options);
  ~RelayMonitor();

  // Stops probing; the client keeps what it holds until it is closed itself.
  void close();
  // Probe `relay` now (when the reservation on it was lost, for instance).
  void probe_soon(const crypto::PeerId& relay);

  bool unhealthy(const crypto::PeerId& relay) const { return table_.unhealthy(relay); }
  std::vector<RelayStatus> relays() const;  // in order of preference
  // Called after a relay changed state (healthy, unhealthy), once the reservations have followed.
  void on_change(std::function<void()> hook) { change_hook_ = std::move(hook); }

 private:
  awaitable<void> watch(crypto::PeerId relay);
  awaitable<Clock::duration> probe(const Multiaddr& addr);
  void follow_preference();

  Host& host_;
  std::shared_ptr<RelayClient> client_;
  std::map<crypto::PeerId, Multiaddr> addrs_;
  std::map<crypto::PeerId, std::shared_ptr<asio::steady_timer>> wakes_;
  RelayHealthTable table_;
  RelayMonitorOptions options_;
  std::vector<crypto::PeerId> reserving_;
  std::function<void()> change_hook_;
  bool closed_ = false;
};

}  // namespace stargate::p2p::relay
