#pragma once
// The client side of Circuit Relay v2: reservations on relays (made, renewed before they expire,
// made again when the connection to the relay drops), the stop handler that accepts circuits a
// relay opens to us, and the dialer for /p2p-circuit addresses. A relayed circuit is upgraded
// (Noise, Yamux) like a TCP socket and becomes an ordinary connection marked `relayed`.
//
// Circuits are accepted only from relays this node holds a reservation with: a peer cannot make
// us run handshakes by pretending to be a relay we never chose.
#include "base/signal_io.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/relay/circuit_address.hpp"
#include "p2p/protocols/relay/messages.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace stargate::p2p::relay {

struct RelayClientOptions {
  // Bound on each hop/stop exchange.
  std::chrono::milliseconds exchange_timeout{30'000};
  // After a failed reservation, wait this long before the next attempt, doubling up to the max.
  std::chrono::milliseconds retry_initial{1'000};
  std::chrono::milliseconds retry_max{60'000};
};

struct ReservationInfo {
  crypto::PeerId relay;
  Multiaddr relay_addr;  // the address the relay was dialed at, with /p2p/<relay>
  bool active = false;
  std::chrono::system_clock::time_point expiry{};
  std::vector<Multiaddr> circuit_addrs;  // .../p2p/<relay>/p2p-circuit: how others reach us
  std::optional<Limit> limit;  // per relayed connection; none: unlimited
  std::string last_error;  // why the last attempt failed, when it did
};

struct RelayClientCounters {
  std::uint64_t reservations_made = 0;  // granted or renewed
  std::uint64_t reservations_failed = 0;
  std::uint64_t circuits_accepted = 0;  // inbound through a relay
  std::uint64_t circuits_refused = 0;   // stop requests refused (unknown relay, malformed, failed upgrade)
  std::uint64_t circuits_dialed = 0;    // outbound through a relay, upgraded
  std::uint64_t circuit_dials_failed = 0;
};

class RelayClient : public std::enable_shared_from_this<RelayClient> {
 public:
  // Registers the stop handler and the circuit dialer on `host`; keep the client alive as long as
  // the host. The host's advertised addresses gain our /p2p-circuit addresses while reservations
  // hold.
  static std::shared_ptr<RelayClient> enable(Host& host, RelayClientOptions options = {});
  RelayClient(Host& host, RelayClientOptions options);
  ~RelayClient();

  // Keeps a reservation on the relay at `relay_addr` (which must end in /p2p/<relay>) until
  // drop_relay() or close(). Relays added first come first in circuit_addrs() (the order a node
  // announces them in, so that callers try the preferred relay first).
  void add_relay(const Multiaddr& relay_addr);
  // Stops keeping the reservation on `relay` (its circuit addresses go at once; the relay forgets
  // the reservation when it expires) and stops accepting circuits from it.
  void drop_relay(const crypto::PeerId& relay);
  // Puts the relays in this order (others keep theirs, after them): circuit_addrs() follows it,
  // so that a primary that comes back is announced first again.
  void set_order(const std::vector<crypto::PeerId>& preference);
  // A relay that was down is back: try to reserve now instead of at the end of the backoff.
  void retry_now(const crypto::PeerId& relay);
  // Called when a reservation is lost (the connection to the relay closed, or renewal failed).
  void on_reservation_lost(std::function<void(const crypto::PeerId&)> hook) { lost_hook_ = std::move(hook); }
  // One reservation on `relay_addr` now, held until it expires or the connection closes (not
  // renewed); throws with the relay's status on refusal.
  awaitable<ReservationInfo> reserve(const Multiaddr& relay_addr);
  // Waits until a reservation is held on at least `count` relays, or throws on timeout.
  awaitable<void> wait_reserved(std::size_t count, Clock::duration timeout);

  // Dials <relay>/p2p-circuit/p2p/<peer> and upgrades the circuit.
  awaitable<std::shared_ptr<MuxedConnection>> dial(const Multiaddr& circuit_addr);

  // Stops renewing (reservations lapse with the connections); pending waits end. The connections
  // to the relays, protected in the host's pool while their reservations are wanted, lose that.
  void close();

  std::vector<ReservationInfo> reservations() const;
  std::vector<Multiaddr> circuit_addrs() const;
  const RelayClientCounters& counters() const { return counters_; }

 private:
  struct Entry {
    ReservationInfo info;
    std::shared_ptr<asio::steady_timer> wake;  // cut short when the relay connection closes
    std::uint64_t generation = 0;  // which keeper owns the entry (a dropped relay may be added again)
  };

  awaitable<void> keep_reserved(crypto::PeerId relay, std::uint64_t generation);
  Entry* keeper_entry(const crypto::PeerId& relay, std::uint64_t generation);
  void mark_lost(Entry& entry, std::string why);
  awaitable<ReservationInfo> reserve_on(std::shared_ptr<MuxedConnection> connection, const Multiaddr& relay_addr);
  awaitable<void> accept_circuit(std::shared_ptr<MuxedStream> stream);
  bool holds_reservation_with(const crypto::PeerId& relay) const;
  void publish_addrs();

  Host& host_;
  RelayClientOptions options_;
  std::map<crypto::PeerId, Entry> relays_;
  std::vector<crypto::PeerId> order_;  // relays_ in the order they were added
  std::uint64_t next_generation_ = 0;
  std::function<void(const crypto::PeerId&)> lost_hook_;
  RelayClientCounters counters_;
  Signal changed_;
  bool closed_ = false;
  bool destroying_ = false;
};


}  // namespace stargate::p2p::relay
