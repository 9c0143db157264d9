#include "p2p/protocols/relay/relay_state.hpp"

#include "p2p/protocols/relay/voucher.hpp"
#include "base/result.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace stargate::p2p::relay {
namespace {

std::uint64_t unix_seconds(TimePoint t) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return s < 0 ? 0 : static_cast<std::uint64_t>(s);
}

void decrement(auto& counts, const auto& key) {
  auto it = counts.find(key);
  if (it == counts.end()) return;
  if (--it->second == 0) counts.erase(it);
}

std::size_t count_of(const auto& counts, const auto& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

RelayLimits RelayLimits::private_relay() {
  RelayLimits limits;
  limits.max_reservations = 4096;
  limits.max_reservations_per_ip = 4096;
  limits.max_circuits_per_peer = 1024;
  limits.circuit_duration = std::chrono::seconds(0);
  limits.circuit_bytes = 0;
  return limits;
}

std::string_view to_string(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::permission_denied: return "permission_denied";
    case RefusalReason::too_many_reservations: return "too_many_reservations";
    case RefusalReason::too_many_reservations_for_peer: return "too_many_reservations_for_peer";
    case RefusalReason::too_many_reservations_for_ip: return "too_many_reservations_for_ip";
    case RefusalReason::no_reservation: return "no_reservation";
    case RefusalReason::too_many_circuits_for_source: return "too_many_circuits_for_source";
    case RefusalReason::too_many_circuits_for_destination: return "too_many_circuits_for_destination";
    case RefusalReason::connection_failed: return "connection_failed";
    case RefusalReason::malformed_message: return "malformed_message";
    case RefusalReason::unexpected_message: return "unexpected_message";
    case RefusalReason::node_resources: return "node_resources";
  }
  return "unknown";
}

Status status_for(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::permission_denied: return Status::permission_denied;
    case RefusalReason::too_many_reservations:
    case RefusalReason::too_many_reservations_for_peer:
    case RefusalReason::too_many_reservations_for_ip: return Status::reservation_refused;
    case RefusalReason::no_reservation: return Status::no_reservation;
    case RefusalReason::too_many_circuits_for_source:
    case RefusalReason::too_many_circuits_for_destination:
    case RefusalReason::node_resources: return Status::resource_limit_exceeded;
    case RefusalReason::connection_failed: return Status::connection_failed;
    case RefusalReason::malformed_message: return Status::malformed_message;
    case RefusalReason::unexpected_message: return Status::unexpected_message;
  }
  return Status::malformed_message;
}

void throw_exception_from_error(const Refusal& refusal, const boost::source_location&) {
  throw ErrorException("relay refused: " + std::string(to_string(refusal.status)) + " (" +
                       std::string(to_string(refusal.reason)) + ")");
}

std::uint64_t RelayCounters::refusals_with(Status status) const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kRefusalReasons; ++i) {
    if (status_for(static_cast<RefusalReason>(i)) == status) total += refusals[i];
  }
  return total;
}

std::uint64_t RelayCounters::total_refusals() const {
  std::uint64_t total = 0;
  for (auto n : refusals) total += n;
  return total;
}

HopMessage ReservationGrant::response() const {
  HopMessage msg = hop_status(Status::ok);
  msg.reservation = Reservation{expire_unix, addrs, voucher};
  msg.limit = limit;
  return msg;
}

RelayState::RelayState(crypto::Ed25519PrivateKey key, std::vector<Multiaddr> addrs, RelayLimits limits)
    : key_(std::move(key)), relay_id_(crypto::PeerId::from_public_key(key_.public_key())), limits_(limits) {
  set_addrs(std::move(addrs));
}

void RelayState::set_addrs(std::vector<Multiaddr> addrs) {
  addrs_.clear();
  auto own = Multiaddr::from_component(Protocol::p2p, relay_id_.bytes());
  for (auto& addr : addrs) {
    if (addrs_.size() == kMaxAddrs) break;
    if (addr.empty() || addr.is_circuit()) continue;
    if (addr.peer_id_bytes()) {
      if (*addr.peer_id_bytes() != relay_id_.bytes()) continue;  // another peer's address
      addrs_.push_back(std::move(addr));
    } else if (own) {
      addrs_.push_back(addr.encapsulate(*own));
    }
  }
}

Refusal RelayState::refuse(RefusalReason reason) {
  count_refusal(reason);
  return Refusal{status_for(reason), reason};
}

void RelayState::count_refusal(RefusalReason reason) { ++counters_.refusals[static_cast<std::size_t>(reason)]; }

bool RelayState::allowed(const crypto::PeerId& peer) const { return !allowlist_ || allowlist_->contains(peer); }

std::optional<Limit> RelayState::circuit_limit() const {
  Limit limit;
  if (limits_.circuit_duration.count() > 0) {
    const auto s = limits_.circuit_duration.count();
    limit.duration_s = static_cast<std::uint32_t>(std::min<std::int64_t>(s, std::numeric_limits<std::uint32_t>::max()));
  }
  if (limits_.circuit_bytes > 0) limit.data_bytes = limits_.circuit_bytes;
  if (!limit.duration_s && !limit.data_bytes) return std::nullopt;
  return limit;
}

ReservationGrant RelayState::grant(const crypto::PeerId& peer, TimePoint expiry, bool refreshed) const {
  ReservationGrant out;
  out.expiry = expiry;
  out.expire_unix = unix_seconds(expiry);
  out.addrs = addrs_;
  out.voucher = seal_voucher(Voucher{relay_id_, peer, out.expire_unix}, key_);
  out.limit = circuit_limit();
  out.refreshed = refreshed;
  return out;
}

Decision<ReservationGrant> RelayState::reserve(const crypto::PeerId& peer, std::string_view ip, TimePoint now) {
  if (!allowed(peer)) return refuse(RefusalReason::permission_denied);
  expire_reservations(now);  // not circuits: those expire() must report to the I/O layer
  const TimePoint expiry = now + limits_.reservation_ttl;
  ReservationKey key{peer, std::string(ip)};
  if (auto it = reservations_.find(key); it != reservations_.end()) {
    it->second.expiry = expiry;
    ++counters_.reservations_refreshed;
    return grant(peer, expiry, true);
  }
  if (reservations_.size() >= limits_.max_reservations) return refuse(RefusalReason::too_many_reservations);
  if (count_of(reservations_per_peer_, peer) >= limits_.max_reservations_per_peer)
    return refuse(RefusalReason::too_many_reservations_for_peer);
  if (count_of(reservations_per_ip_, key.second) >= limits_.max_reservations_per_ip)
    return refuse(RefusalReason::too_many_reservations_for_ip);
  ++reservations_per_peer_[peer];
  ++reservations_per_ip_[key.second];
  reservations_.emplace(std::move(key), ReservationEntry{expiry});
  ++counters_.reservations_granted;
  return grant(peer, expiry, false);
}

Decision<ReservationGrant> RelayState::refresh(const crypto::PeerId& peer, std::string_view ip, TimePoint now) {
  auto it = reservations_.find(ReservationKey{peer, std::string(ip)});
  if (it == reservations_.end() || it->second.expiry <= now) return refuse(RefusalReason::no_reservation);
  return reserve(peer, ip, now);
}

void RelayState::erase_reservation(std::map<ReservationKey, ReservationEntry>::iterator it) {
  decrement(reservations_per_peer_, it->first.first);
  decrement(reservations_per_ip_, it->first.second);
  reservations_.erase(it);
}

void RelayState::drop_reservations(const crypto::PeerId& peer) {
  for (auto it = reservations_.lower_bound(ReservationKey{peer, std::string()});
       it != reservations_.end() && it->first.first == peer;) {
    erase_reservation(it++);
  }
}

bool RelayState::has_reservation(const crypto::PeerId& peer, TimePoint now) const {
  for (auto it = reservations_.lower_bound(ReservationKey{peer, std::string()});
       it != reservations_.end() && it->first.first == peer; ++it) {
    if (it->second.expiry > now) return true;
  }
  return false;
}

Decision<CircuitGrant> RelayState::open_circuit(const crypto::PeerId& source, const crypto::PeerId& destination,
                                                TimePoint now) {
  if (!allowed(source)) return refuse(RefusalReason::permission_denied);
  if (!has_reservation(destination, now)) return refuse(RefusalReason::no_reservation);
  if (circuits_of(source) >= limits_.max_circuits_per_peer) return refuse(RefusalReason::too_many_circuits_for_source);
  if (circuits_of(destination) >= limits_.max_circuits_per_peer)
    return refuse(RefusalReason::too_many_circuits_for_destination);
  CircuitGrant out;
  out.id = next_circuit_++;
  out.limit = circuit_limit();
  if (limits_.circuit_duration.count() > 0) out.deadline = now + limits_.circuit_duration;
  circuits_.emplace(out.id, Circuit{source, destination, out.deadline, {}});
  ++circuits_per_peer_[source];
  if (destination != source) ++circuits_per_peer_[destination];
  ++counters_.circuits_opened;
  return out;
}

void RelayState::erase_circuit(std::unordered_map<CircuitId, Circuit>::iterator it) {
  decrement(circuits_per_peer_, it->second.source);
  if (it->second.destination != it->second.source) decrement(circuits_per_peer_, it->second.destination);
  circuits_.erase(it);
  ++counters_.circuits_closed;
}

void RelayState::close_circuit(CircuitId id) {
  if (auto it = circuits_.find(id); it != circuits_.end()) erase_circuit(it);
}

std::size_t RelayState::circuits_of(const crypto::PeerId& peer) const { return count_of(circuits_per_peer_, peer); }

std::uint64_t RelayState::allowance(CircuitId id, Direction direction) const {
  auto it = circuits_.find(id);
  if (it == circuits_.end()) return 0;
  if (limits_.circuit_bytes == 0) return std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t used = it->second.relayed[static_cast<std::size_t>(direction)];
  return used >= limits_.circuit_bytes ? 0 : limits_.circuit_bytes - used;
}

void RelayState::add_relayed(CircuitId id, Direction direction, std::uint64_t bytes) {
  auto it = circuits_.find(id);
  if (it == circuits_.end()) return;
  it->second.relayed[static_cast<std::size_t>(direction)] += bytes;
  counters_.bytes_relayed += bytes;
}

void RelayState::expire_reservations(TimePoint now) {
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expiry <= now) {
      erase_reservation(it++);
      ++counters_.reservations_expired;
    } else {
      ++it;
    }
  }
}

std::vector<CircuitId> RelayState::expire(TimePoint now) {
  expire_reservations(now);
  std::vector<CircuitId> ended;
  for (auto it = circuits_.begin(); it != circuits_.end();) {
    if (it->second.deadline && *it->second.deadline <= now) {
      ended.push_back(it->first);
      ++counters_.circuits_timed_out;
      erase_circuit(it++);
    } else {
      ++it;
    }
  }
  std::sort(ended.begin(), ended.end());
  return ended;
}

std::optional<TimePoint> RelayState::next_deadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [key, entry] : reservations_) consider(entry.expiry);
  for (const auto& [id, circuit] : circuits_) {
    if (circuit.deadline) consider(*circuit.deadline);
  }
  return next;
}

}  // namespace stargate::p2p::relay
