#include "p2p/protocols/autonat/nat_classifier.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace stargate::p2p::autonat {
namespace {

struct Endpoint {
  IpAddress ip;
  std::uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

std::optional<Endpoint> endpoint_of(const Multiaddr& addr) {
  auto ip = ip_of(addr);
  auto port = tcp_port_of(addr);
  if (!ip || !port) return std::nullopt;
  return Endpoint{*ip, *port};
}

template <class Range>
std::size_t distinct_observer_ips(const Range& observations) {
  std::set<IpAddress> ips;
  for (const Observation* o : observations) ips.insert(o->observer_ip);
  return ips.size();
}

}  // namespace

std::string_view to_string(NatKind kind) {
  switch (kind) {
    case NatKind::public_: return "public";
    case NatKind::endpoint_independent: return "endpoint_independent";
    case NatKind::symmetric: return "symmetric";
    case NatKind::unknown: break;
  }
  return "unknown";
}

bool NatClassifier::add(Observation observation) {
  auto observed = endpoint_of(observation.observed);
  auto local = endpoint_of(observation.local);
  if (!observed || !local || observed->ip.v6 != local->ip.v6) return false;
  std::erase_if(observations_, [&](const Observation& o) {
    return o.observer == observation.observer && o.from_listen_port == observation.from_listen_port;
  });
  observations_.push_back(std::move(observation));
  while (observations_.size() > config_.max_observers) observations_.pop_front();
  return true;
}

NatKind NatClassifier::kind() const {
  std::vector<const Observation*> all, untranslated, translated;
  for (const auto& o : observations_) {
    all.push_back(&o);
    (endpoint_of(o.observed) == endpoint_of(o.local) ? untranslated : translated).push_back(&o);
  }
  if (distinct_observer_ips(all) < config_.min_observers) return NatKind::unknown;
  if (distinct_observer_ips(untranslated) >= config_.min_observers) return NatKind::public_;

  // Our translated address seen with several IPs (per family): the NAT maps by destination.
  for (bool v6 : {false, true}) {
    std::set<IpAddress> mapped_ips;
    for (const Observation* o : translated)
      if (auto e = endpoint_of(o->observed); e && e->ip.v6 == v6) mapped_ips.insert(e->ip);
    if (mapped_ips.size() > 1) return NatKind::symmetric;
  }

  // The listen port, seen by distinct observers: same mapping everywhere, or not.
  std::map<Endpoint, std::vector<const Observation*>> by_local_port;
  for (const Observation* o : translated)
    if (o->from_listen_port) by_local_port[*endpoint_of(o->local)].push_back(o);
  bool endpoint_independent = false;
  for (const auto& [local, group] : by_local_port) {
    if (distinct_observer_ips(group) < 2) continue;
    const auto first = endpoint_of(group.front()->observed);
    const bool same = std::all_of(group.begin(), group.end(),
                                  [&](const Observation* o) { return endpoint_of(o->observed) == first; });
    if (!same) return NatKind::symmetric;
    endpoint_independent = true;
  }
  if (endpoint_independent) return NatKind::endpoint_independent;

  // Ephemeral ports: each connection had its own, so only port preservation can be judged.
  std::vector<const Observation*> ephemeral;
  for (const Observation* o : translated)
    if (!o->from_listen_port) ephemeral.push_back(o);
  if (distinct_observer_ips(ephemeral) >= config_.min_observers &&
      std::all_of(ephemeral.begin(), ephemeral.end(),
                  [](const Observation* o) { return endpoint_of(o->observed)->port == endpoint_of(o->local)->port; }))
    return NatKind::endpoint_independent;
  return NatKind::unknown;
}

}  // namespace stargate::p2p::autonat
