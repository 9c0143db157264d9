#include "agent/status_metrics.hpp"

#include "agent/resource_report.hpp"

#include <algorithm>

namespace stargate::agent {

void collect_dht_metrics(metrics::Collection& out, const NodeStatus::Dht& dht) {
  auto d = [](auto v) { return static_cast<double>(v); };
  out.gauge("stargate_dht_server_mode", "1 when the DHT answers requests (server mode), 0 in client mode")
      .add(dht.mode == "server" ? 1.0 : 0.0);
  out.gauge("stargate_dht_routing_table_peers", "Peers in the DHT routing table").add(d(dht.routing_table_peers));
  auto stored = out.gauge("stargate_dht_records", "Records kept for other peers, by kind", {"kind"});
  stored.add({"provider"}, d(dht.provider_records));
  stored.add({"value"}, d(dht.value_records));
  auto requests = out.counter("stargate_dht_requests", "DHT requests, by direction and outcome", {"direction", "outcome"});
  requests.add({"inbound", "served"}, d(dht.requests_served));
  requests.add({"inbound", "refused"}, d(dht.requests_refused - std::min(dht.requests_refused, dht.requests_rate_limited)));
  requests.add({"inbound", "rate_limited"}, d(dht.requests_rate_limited));
  requests.add({"outbound", "ok"}, d(dht.requests_sent - std::min(dht.requests_sent, dht.requests_failed)));
  requests.add({"outbound", "failed"}, d(dht.requests_failed));
  out.counter("stargate_dht_lookups", "Iterative DHT lookups run").add(d(dht.lookups));
  out.counter("stargate_dht_records_refused", "DHT records refused: invalid, too large, or older than the one kept")
      .add(d(dht.records_refused));
  out.counter("stargate_dht_peers_backed_off", "Peers the DHT disconnected and backed off for repeated refused requests")
      .add(d(dht.peers_backed_off));
  out.counter("stargate_dht_connections_refused_backoff", "Inbound connections the DHT closed: their peer was backed off")
      .add(d(dht.connections_refused_backoff));
}

// What the status says, exported at each scrape (nothing is counted twice).
void collect_status(metrics::Collection& out, const NodeStatus& s) {
  auto d = [](auto v) { return static_cast<double>(v); };
  out.counter("stargate_libp2p_fallbacks", "libp2p attempts that failed before NATS was tried").add(d(s.libp2p_attempts_failed));
  out.counter("stargate_requests_served", "Requests this node answered").add(d(s.requests_served));
  out.gauge("stargate_streams_open", "Streamed calls served now: running, or keeping frames for a resume").add(d(s.streams_open));
  out.gauge("stargate_stream_buffered_bytes", "Bytes of stream frames kept that callers have not acknowledged")
      .add(d(s.stream_buffered_bytes));
  out.counter("stargate_streams_resumed", "Streamed calls their caller re-attached over a new path").add(d(s.streams_resumed));
  auto limited = out.counter("stargate_requests_rate_limited",
                             "Calls answered 'rate limited' without running the handler, by the limit that refused "
                             "them (peer, ip, backoff; node_busy, peer_busy, ip_busy: calls in flight; too_slow: "
                             "request not sent in time)", {"limit"});
  for (const char* limit : {"peer", "ip", "backoff", "node_busy", "peer_busy", "ip_busy", "too_slow"}) {
    auto it = s.requests_rate_limited_by.find(limit);
    limited.add({limit}, d(it == s.requests_rate_limited_by.end() ? 0 : it->second));
  }
  out.counter("stargate_peers_backed_off", "Callers and announcing agents put in back-off for repeated refusals")
      .add(d(s.peers_backed_off));
  out.counter("stargate_connections_refused_backoff", "libp2p connections closed because their peer was in back-off")
      .add(d(s.connections_refused_backoff));
  auto rejected = out.counter("stargate_inputs_rejected", "Messages refused, by reason", {"reason"});
  for (const auto& [reason, count] : s.requests_rejected_by) rejected.add({reason}, d(count));
  out.counter("stargate_holepunch_attempts", "DCUtR hole-punch attempts, both roles").add(d(s.hole_punch_attempts));
  out.counter("stargate_holepunch_successes", "Hole punches that ended in a direct connection").add(d(s.hole_punch_successes));
  auto punch_failures = out.counter("stargate_holepunch_failures", "Failed hole-punch attempts, by reason", {"reason"});
  for (const auto& [reason, count] : s.hole_punch_failures) punch_failures.add({reason}, d(count));
  if (s.dht.mode != "off") collect_dht_metrics(out, s.dht);
  if (!s.resources.gauges.empty()) collect_resource_metrics(out, s.resources);
  out.gauge("stargate_pool_connections", "libp2p connections open (direct and relayed)").add(d(s.pool_size));
  out.counter("stargate_pool_hits", "Connects that reused an open connection").add(d(s.pool_hits));
  out.counter("stargate_pool_misses", "Connects that had to dial").add(d(s.pool_misses));
  out.counter("stargate_pool_cap_overruns", "Times the pool stayed above its cap (every connection busy)")
      .add(d(s.pool_cap_overruns));
  auto evictions = out.counter("stargate_pool_evictions", "Connections the pool closed, by reason", {"reason"});
  for (const auto& [reason, count] : s.pool_evictions) evictions.add({reason}, d(count));
  std::size_t direct = 0, relayed = 0;
  for (const auto& c : s.connections) ++(c.relayed ? relayed : direct);
  out.gauge("stargate_connections", "libp2p connections open now, by kind", {"kind"})
      .add({"direct"}, d(direct))
      .add({"relayed"}, d(relayed));
  out.gauge("stargate_streams", "Streams open now over all libp2p connections").add(d(s.streams));
  auto reachability = out.gauge("stargate_reachability", "1 for what AutoNAT concluded: public, private or unknown", {"state"});
  for (const char* state : {"public", "private", "unknown"}) reachability.add({state}, s.reachability == state ? 1 : 0);
  auto nat = out.gauge("stargate_nat_kind", "1 for the NAT in front of the node (identify's observations)", {"kind"});
  for (const char* kind : {"public", "endpoint_independent", "symmetric", "unknown"}) nat.add({kind}, s.nat_kind == kind ? 1 : 0);
  auto reservations = out.gauge("stargate_relay_reservation_active", "1 while a reservation on this relay holds", {"relay"});
  for (const auto& r : s.reservations) reservations.add({r.relay}, r.active ? 1 : 0);
  auto health = out.gauge("stargate_relay_health", "1 for what the health monitor concluded about each configured relay",
                          {"relay", "state"});
  auto rtt = out.gauge("stargate_relay_rtt_seconds", "Round trip of the last successful health probe", {"relay"});
  auto probes = out.counter("stargate_relay_probes", "Relay health probes, by outcome", {"relay", "outcome"});
  auto changes = out.counter("stargate_relay_health_changes", "Times a relay was declared healthy or unhealthy",
                             {"relay", "to"});
  for (const auto& r : s.relays) {
    for (const char* state : {"healthy", "unhealthy", "unknown"}) health.add({r.relay, state}, r.health == state ? 1 : 0);
    if (r.rtt_ms) rtt.add({r.relay}, *r.rtt_ms / 1000.0);
    probes.add({r.relay, "ok"}, d(r.probes_ok)).add({r.relay, "failed"}, d(r.probes_failed));
    changes.add({r.relay, "healthy"}, d(r.became_healthy)).add({r.relay, "unhealthy"}, d(r.became_unhealthy));
  }
  out.counter("stargate_transport_bytes", "Bytes received (in) and sent (out), by transport: libp2p counts its TCP "
                                          "sockets, nats the message bytes through the broker", {"transport", "direction"})
      .add({"libp2p", "in"}, d(s.libp2p_bytes_in))
      .add({"libp2p", "out"}, d(s.libp2p_bytes_out))
      .add({"nats", "in"}, d(s.nats_bytes_in))
      .add({"nats", "out"}, d(s.nats_bytes_out));
  out.gauge("stargate_known_peers", "Agents in the directory").add(d(s.known_peers));
  out.gauge("stargate_nats_connected", "1 when the broker connection is up").add(s.nats_connected ? 1 : 0);
}

}  // namespace stargate::agent
