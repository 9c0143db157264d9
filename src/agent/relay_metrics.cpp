#include "agent/relay_metrics.hpp"

#include "agent/node_status.hpp"
#include "agent/resource_report.hpp"
#include "agent/status_metrics.hpp"

namespace stargate::agent {

void add_relay_collector(metrics::Registry& registry, const p2p::relay::RelayService& relay, const p2p::Host& host,
                         const p2p::kad::Dht* dht) {
  registry.add_collector([&relay, &host, dht](metrics::Collection& out) {
    if (dht) collect_dht_metrics(out, dht_status(*dht));
    namespace r = p2p::relay;
    const auto& c = relay.counters();
    out.gauge("stargate_relay_reservations", "Reservations held now").add(static_cast<double>(relay.reservation_count()));
    out.gauge("stargate_relay_circuits", "Circuits open now").add(static_cast<double>(relay.circuit_count()));
    out.gauge("stargate_connections", "libp2p connections open now").add(static_cast<double>(host.connections().size()));
    collect_resource_metrics(out, to_status(host.resource_usage()));
    out.counter("stargate_relay_reservations_granted", "New reservations granted").add(static_cast<double>(c.reservations_granted));
    out.counter("stargate_relay_reservations_refreshed", "Reservations renewed by their holder")
        .add(static_cast<double>(c.reservations_refreshed));
    out.counter("stargate_relay_reservations_expired", "Reservations that lapsed").add(static_cast<double>(c.reservations_expired));
    out.counter("stargate_relay_circuits_opened", "Circuits opened").add(static_cast<double>(c.circuits_opened));
    out.counter("stargate_relay_circuits_closed", "Circuits closed, for any reason").add(static_cast<double>(c.circuits_closed));
    out.counter("stargate_relay_circuits_timed_out", "Circuits ended by their duration limit")
        .add(static_cast<double>(c.circuits_timed_out));
    out.counter("stargate_relay_relayed_bytes", "Bytes relayed, both directions").add(static_cast<double>(c.bytes_relayed));
    const auto traffic = host.traffic();
    out.counter("stargate_transport_bytes", "Bytes received (in) and sent (out) on the relay's TCP sockets", {"transport", "direction"})
        .add({"libp2p", "in"}, static_cast<double>(traffic.bytes_in))
        .add({"libp2p", "out"}, static_cast<double>(traffic.bytes_out));
    auto refusals = out.counter("stargate_relay_refusals", "Requests refused, by reason and the status sent", {"reason", "status"});
    for (std::size_t i = 0; i < r::kRefusalReasons; ++i) {
      auto reason = static_cast<r::RefusalReason>(i);
      refusals.add({r::to_string(reason), r::to_string(r::status_for(reason))}, static_cast<double>(c.refusals[i]));
    }
  });
}

}  // namespace stargate::agent
