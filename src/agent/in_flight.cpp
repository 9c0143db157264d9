#include "agent/in_flight.hpp"

namespace stargate::agent {
namespace {

std::size_t count_of(const std::unordered_map<std::string, std::size_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

void decrement(std::unordered_map<std::string, std::size_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  if (it != counts.end() && --it->second == 0) counts.erase(it);
}

}  // namespace

std::string_view to_string(InFlightCalls::Refusal refusal) {
  switch (refusal) {
    case InFlightCalls::Refusal::node: return "node";
    case InFlightCalls::Refusal::peer: return "peer";
    case InFlightCalls::Refusal::ip: return "ip";
    case InFlightCalls::Refusal::none: break;
  }
  return "";
}

InFlightCalls::Ticket& InFlightCalls::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    counts_ = std::move(other.counts_);
    peer_ = std::move(other.peer_);
    ip_ = std::move(other.ip_);
  }
  return *this;
}

void InFlightCalls::Ticket::release() {
  auto counts = std::move(counts_);
  counts_.reset();
  if (!counts) return;
  --counts->total;
  decrement(counts->by_peer, peer_);
  if (ip_) decrement(counts->by_ip, *ip_);
}

InFlightCalls::Ticket InFlightCalls::enter(const std::string& peer, const std::optional<std::string>& ip,
                                           Refusal& refusal) {
  Ticket ticket;
  auto& c = *counts_;
  // The caller's own share first: a caller over its share is told so even when the node is full.
  if (count_of(c.by_peer, peer) >= c.limits.per_peer) {
    refusal = Refusal::peer;
  } else if (ip && count_of(c.by_ip, *ip) >= c.limits.per_ip) {
    refusal = Refusal::ip;
  } else if (c.total >= c.limits.total) {
    refusal = Refusal::node;
  } else {
    refusal = Refusal::none;
    ++c.total;
    ++c.by_peer[peer];
    if (ip) ++c.by_ip[*ip];
    ticket.counts_ = counts_;
    ticket.peer_ = peer;
    ticket.ip_ = ip;
  }
  return ticket;
}

std::size_t InFlightCalls::of_peer(const std::string& peer) const { return count_of(counts_->by_peer, peer); }
std::size_t InFlightCalls::of_ip(const std::string& ip) const { return count_of(counts_->by_ip, ip); }

}  // namespace stargate::agent
