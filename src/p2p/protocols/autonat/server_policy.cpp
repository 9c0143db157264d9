#include "p2p/protocols/autonat/server_policy.hpp"

#include <algorithm>

namespace stargate::p2p::autonat {

std::string_view to_string(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::relayed: return "relayed";
    case RefusalReason::bad_request: return "bad_request";
    case RefusalReason::observed_not_public: return "observed_not_public";
    case RefusalReason::no_dialable_addr: return "no_dialable_addr";
    case RefusalReason::rate_limited: return "rate_limited";
    case RefusalReason::count_: break;
  }
  return "unknown";
}

Status status_for(RefusalReason reason) {
  return reason == RefusalReason::bad_request ? Status::bad_request : Status::dial_refused;
}

Refusal ServerPolicy::refuse(RefusalReason reason, std::string text) {
  ++counters_.refused[static_cast<std::size_t>(reason)];
  return Refusal{reason, std::move(text)};
}

void ServerPolicy::prune(TimePoint now) {
  auto expired = [&](TimePoint t) { return now - t >= limits_.window; };
  while (!granted_.empty() && expired(granted_.front())) granted_.pop_front();
  for (auto it = granted_to_.begin(); it != granted_to_.end();) {
    while (!it->second.empty() && expired(it->second.front())) it->second.pop_front();
    it = it->second.empty() ? granted_to_.erase(it) : std::next(it);
  }
}

std::variant<DialPlan, Refusal> ServerPolicy::decide(const crypto::PeerId& requester, const Multiaddr& observed,
                                                     bool relayed, const Result<DialRequest>& request, TimePoint now) {
  ++counters_.requests;
  if (relayed) return refuse(RefusalReason::relayed, "dial-back requests over relayed connections are refused");
  if (!request) return refuse(RefusalReason::bad_request, request.error().message);
  if (request->peer && *request->peer != requester)
    return refuse(RefusalReason::bad_request, "peer id does not match the connection's");
  auto observed_ip = ip_of(observed);
  if (!observed_ip || !tcp_port_of(observed) || !classifier_.is_public(*observed_ip))
    return refuse(RefusalReason::observed_not_public, "your address is not public");

  DialPlan plan;
  auto consider = [&](const Multiaddr& addr) {
    if (plan.addrs.size() >= limits_.max_addrs_dialed || !tcp_port_of(addr) || ip_of(addr) != observed_ip) return;
    auto bare = addr.without_peer_id();
    if (std::find(plan.addrs.begin(), plan.addrs.end(), bare) == plan.addrs.end()) plan.addrs.push_back(std::move(bare));
  };
  // With no address asked for, the spec lets the server try the observed one.
  if (request->addrs.empty()) consider(observed);
  for (const auto& addr : request->addrs) consider(addr);
  if (plan.addrs.empty())
    return refuse(RefusalReason::no_dialable_addr, "no address to dial at " + observed_ip->to_string() + " over TCP");

  prune(now);
  auto& mine = granted_to_[requester];
  if (mine.size() >= limits_.per_peer || granted_.size() >= limits_.global) {
    if (mine.empty()) granted_to_.erase(requester);
    return refuse(RefusalReason::rate_limited, "too many dial-back requests");
  }
  mine.push_back(now);
  granted_.push_back(now);
  return plan;
}

}  // namespace stargate::p2p::autonat
