#pragma once
// The bookkeeping of a Circuit Relay v2 relay (the hop server), as a sans-IO state machine: it
// decides whether to grant a reservation or open a circuit, and tracks what it granted, but
// never touches a stream or a clock. The I/O layer feeds it requests and `now`, answers peers
// with the messages it gets back, closes the circuits expire() returns, and arms a timer for
// next_deadline().
//
// Reservations are kept per (peer, IP address): a RESERVE from a (peer, IP) that holds one
// refreshes it (new expiry and voucher; no limit is checked again, so a refresh always works),
// one from elsewhere is a new reservation and counts against the limits. The I/O layer calls
// drop_reservations() when the connection to a peer closes, as go-libp2p does.
#include "base/bytes.hpp"
#include "base/multiaddr.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/protocols/relay/messages.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stargate::p2p::relay {

// Wall-clock time: reservation expiries go on the wire as Unix seconds.
using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

struct RelayLimits {
  std::chrono::seconds reservation_ttl = std::chrono::hours(1);
  std::size_t max_reservations = 128;
  std::size_t max_reservations_per_peer = 1;
  std::size_t max_reservations_per_ip = 8;
  std::size_t max_circuits_per_peer = 16;  // counting circuits where the peer is either end
  std::chrono::seconds circuit_duration = std::chrono::minutes(2);  // 0: no limit
  std::uint64_t circuit_bytes = 128 * 1024;  // in each direction; 0: no limit

  // The defaults above, as go-libp2p ships them: fit for a relay open to anyone.
  static RelayLimits public_relay() { return {}; }
  // For a relay run for one's own peers (pair it with an allow-list): circuits have no duration
  // or byte limit (users of public relays complain most about circuits dying at 128 KiB), and the
  // counts allow many peers behind one NAT and many circuits each.
  static RelayLimits private_relay();
};

// Why a request was refused, finer than the Status the peer is told (for logs and metrics).
enum class RefusalReason : std::uint8_t {
  permission_denied,                  // PERMISSION_DENIED: not on the allow-list
  too_many_reservations,              // RESERVATION_REFUSED: max_reservations
  too_many_reservations_for_peer,     // RESERVATION_REFUSED: max_reservations_per_peer
  too_many_reservations_for_ip,       // RESERVATION_REFUSED: max_reservations_per_ip
  no_reservation,                     // NO_RESERVATION: the destination holds none
  too_many_circuits_for_source,       // RESOURCE_LIMIT_EXCEEDED: max_circuits_per_peer
  too_many_circuits_for_destination,  // RESOURCE_LIMIT_EXCEEDED: max_circuits_per_peer
  connection_failed,                  // CONNECTION_FAILED: the stop exchange failed (I/O layer)
  malformed_message,                  // MALFORMED_MESSAGE (I/O layer, from a decode error)
  unexpected_message,                 // UNEXPECTED_MESSAGE (I/O layer)
  node_resources,                     // RESOURCE_LIMIT_EXCEEDED: the node's resource manager (I/O layer)
};
inline constexpr std::size_t kRefusalReasons = 11;
// snake_case names, e.g. "too_many_reservations_for_ip", fit for a metrics label.
std::string_view to_string(RefusalReason reason);
Status status_for(RefusalReason reason);

struct Refusal {
  Status status;
  RefusalReason reason;
  friend bool operator==(const Refusal&, const Refusal&) = default;
};
[[noreturn]] void throw_exception_from_error(const Refusal& refusal, const boost::source_location&);

// A grant, or the status to answer with.
template <class T>
using Decision = boost::system::result<T, Refusal>;

struct ReservationGrant {
  TimePoint expiry;
  std::uint64_t expire_unix = 0;  // expiry in Unix seconds, as on the wire and in the voucher
  std::vector<Multiaddr> addrs;  // the relay's addresses, each ending in /p2p/<relay>
  Bytes voucher;  // sealed voucher envelope
  std::optional<Limit> limit;  // what each circuit to the peer will be allowed; none: unlimited
  bool refreshed = false;  // the peer already held this reservation

  // The HopMessage STATUS OK that carries the grant.
  HopMessage response() const;
};

using CircuitId = std::uint64_t;

struct CircuitGrant {
  CircuitId id = 0;
  std::optional<Limit> limit;  // for the HopMessage and StopMessage; none: unlimited
  std::optional<TimePoint> deadline;  // when expire() ends it
};

enum class Direction : std::uint8_t { source_to_destination, destination_to_source };

struct RelayCounters {
  std::uint64_t reservations_granted = 0;  // new ones
  std::uint64_t reservations_refreshed = 0;
  std::uint64_t reservations_expired = 0;
  std::uint64_t circuits_opened = 0;
  std::uint64_t circuits_closed = 0;  // every end, timed out or not
  std::uint64_t circuits_timed_out = 0;
  std::uint64_t bytes_relayed = 0;  // both directions
  std::array<std::uint64_t, kRefusalReasons> refusals{};

  std::uint64_t refusals_for(RefusalReason reason) const { return refusals[static_cast<std::size_t>(reason)]; }
  std::uint64_t refusals_with(Status status) const;
  std::uint64_t total_refusals() const;
};

class RelayState {
 public:
  // `key` signs vouchers; `addrs` are the relay's public addresses (a /p2p/<relay> component is
  // added where missing; /p2p-circuit addresses are left out; at most kMaxAddrs are kept).
  RelayState(crypto::Ed25519PrivateKey key, std::vector<Multiaddr> addrs, RelayLimits limits = {});

  const crypto::PeerId& relay_id() const { return relay_id_; }
  const RelayLimits& limits() const { return limits_; }
  const std::vector<Multiaddr>& addrs() const { return addrs_; }
  void set_addrs(std::vector<Multiaddr> addrs);

  // Only these peers may reserve or open circuits (PERMISSION_DENIED for the others); nullopt,
  // the default, lets anyone.
  void set_allowlist(std::optional<std::set<crypto::PeerId>> peers) { allowlist_ = std::move(peers); }

  // A RESERVE from `peer`, connected from `ip` (the remote IP address in text form).
  Decision<ReservationGrant> reserve(const crypto::PeerId& peer, std::string_view ip, TimePoint now);
  // The same as reserve() for a (peer, IP) holding a reservation; refuses NO_RESERVATION otherwise.
  Decision<ReservationGrant> refresh(const crypto::PeerId& peer, std::string_view ip, TimePoint now);
  // The connection to `peer` closed: its reservations end.
  void drop_reservations(const crypto::PeerId& peer);
  bool has_reservation(const crypto::PeerId& peer, TimePoint now) const;
  std::size_t reservation_count() const { return reservations_.size(); }

  // A CONNECT from `source` to `destination`. On a grant the I/O layer opens the stop stream and
  // calls close_circuit() (and count_refusal(connection_failed) if that failed) when it ends.
  Decision<CircuitGrant> open_circuit(const crypto::PeerId& source, const crypto::PeerId& destination,
                                      TimePoint now);
  void close_circuit(CircuitId id);  // unknown ids are ignored
  std::size_t circuit_count() const { return circuits_.size(); }
  std::size_t circuits_of(const crypto::PeerId& peer) const;

  // Bytes the circuit may still carry in `direction` (UINT64_MAX when unlimited, 0 for an
  // unknown circuit), and a record of bytes relayed.
  std::uint64_t allowance(CircuitId id, Direction direction) const;
  void add_relayed(CircuitId id, Direction direction, std::uint64_t bytes);

  // Drops reservations that expired by `now` and ends circuits whose duration ran out; returns
  // those circuits, for the I/O layer to close (their streams on both ends).
  std::vector<CircuitId> expire(TimePoint now);
  // The earliest time expire() has work to do.
  std::optional<TimePoint> next_deadline() const;

  // Refusals decided by the I/O layer (malformed or unexpected messages, failed stop exchanges).
  void count_refusal(RefusalReason reason);
  const RelayCounters& counters() const { return counters_; }

 private:
  struct ReservationEntry {
    TimePoint expiry;
  };
  struct Circuit {
    crypto::PeerId source;
    crypto::PeerId destination;
    std::optional<TimePoint> deadline;
    std::array<std::uint64_t, 2> relayed{};
  };
  using ReservationKey = std::pair<crypto::PeerId, std::string>;

  Refusal refuse(RefusalReason reason);
  bool allowed(const crypto::PeerId& peer) const;
  ReservationGrant grant(const crypto::PeerId& peer, TimePoint expiry, bool refreshed) const;
  std::optional<Limit> circuit_limit() const;
  void expire_reservations(TimePoint now);
  void erase_reservation(std::map<ReservationKey, ReservationEntry>::iterator it);
  void erase_circuit(std::unordered_map<CircuitId, Circuit>::iterator it);

  crypto::Ed25519PrivateKey key_;
  crypto::PeerId relay_id_;
  std::vector<Multiaddr> addrs_;
  RelayLimits limits_;
  std::optional<std::set<crypto::PeerId>> allowlist_;
  std::map<ReservationKey, ReservationEntry> reservations_;
  std::unordered_map<crypto::PeerId, std::size_t> reservations_per_peer_;
  std::unordered_map<std::string, std::size_t> reservations_per_ip_;
  std::unordered_map<CircuitId, Circuit> circuits_;
  std::unordered_map<crypto::PeerId, std::size_t> circuits_per_peer_;
  CircuitId next_circuit_ = 1;
  RelayCounters counters_;
};

}  // namespace stargate::p2p::relay
