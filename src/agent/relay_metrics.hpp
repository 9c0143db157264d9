#pragma once
// The relay daemon's numbers in Prometheus form: load (reservations, circuits, connections),
// what it did (granted, opened, bytes relayed) and what it refused, by reason.
#include "metrics/registry.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"

namespace stargate::p2p::kad {
class Dht;
}

namespace stargate::agent {

// Exports `relay` and `host` from `registry` at scrape time; both must outlive the registry's use.
// The relay's families, its resource usage and (with `dht`) the DHT's, as an agent exports them.
void add_relay_collector(metrics::Registry& registry, const p2p::relay::RelayService& relay, const p2p::Host& host,
                         const p2p::kad::Dht* dht = nullptr);

}  // namespace stargate::agent
