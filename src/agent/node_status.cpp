#include "agent/node_status.hpp"

#include "agent/resource_report.hpp"

namespace stargate::agent {

NodeStatus::Dht dht_status(const p2p::kad::Dht& table) {
  NodeStatus::Dht dht;
  dht.mode = table.mode() == p2p::kad::DhtMode::server ? "server" : "client";
  dht.routing_table_peers = table.routing_table().size();
  dht.provider_records = table.provider_store().records();
  dht.value_records = table.record_store().size();
  const auto& c = table.counters();
  dht.requests_served = c.requests_served;
  dht.requests_refused = c.requests_refused;
  dht.requests_sent = c.requests_sent;
  dht.requests_failed = c.requests_failed;
  dht.lookups = c.lookups;
  dht.records_refused = c.records_refused;
  dht.requests_rate_limited = c.requests_rate_limited;
  dht.peers_backed_off = c.peers_backed_off;
  dht.connections_refused_backoff = c.connections_refused_backoff;
  return dht;
}

void add_libp2p_status(NodeStatus& status, P2pEndpoint& p2p) {
  if (p2p.listening()) status.addresses = p2p.addresses();
  for (const auto& r : p2p.relay_client().reservations())
    status.reservations.push_back({r.relay.to_string(), r.active, r.expiry, r.last_error});
  if (const auto* monitor = p2p.relay_monitor()) {
    for (const auto& r : monitor->relays()) {
      NodeStatus::Relay relay;
      relay.relay = r.health.relay.to_string();
      relay.address = r.addr.to_string();
      relay.health = std::string(p2p::relay::to_string(r.health.state));
      relay.reserving = r.reserving;
      relay.consecutive_failures = r.health.consecutive_failures;
      if (r.health.last_rtt) relay.rtt_ms = std::chrono::duration<double, std::milli>(*r.health.last_rtt).count();
      relay.last_error = r.health.last_error;
      relay.probes_ok = r.health.probes_ok;
      relay.probes_failed = r.health.probes_failed;
      relay.became_unhealthy = r.health.became_unhealthy;
      relay.became_healthy = r.health.became_healthy;
      status.relays.push_back(std::move(relay));
    }
  }
  for (const auto& c : p2p.host().connections()) {
    const auto& info = c->info();
    status.connections.push_back({info.remote_peer.to_string(), info.remote_addr.to_string(), info.relayed, info.outbound});
    status.streams += c->stream_count();
  }
  const auto traffic = p2p.host().traffic();
  status.libp2p_bytes_in = traffic.bytes_in;
  status.libp2p_bytes_out = traffic.bytes_out;
  auto pool = p2p.host().pool_stats();
  status.pool_size = pool.size;
  status.pool_hits = pool.hits;
  status.pool_misses = pool.misses;
  status.pool_cap_overruns = pool.cap_overruns;
  status.pool_evictions = {{"idle", pool.evictions_idle}, {"capacity", pool.evictions_capacity}};
  status.resources = to_status(p2p.host().resource_usage());
  const auto& punches = p2p.dcutr().counters();
  status.hole_punch_attempts = punches.attempts;
  status.hole_punch_successes = punches.successes;
  status.hole_punch_failures = punches.failures;
  if (auto* autonat = p2p.autonat()) {
    status.reachability = p2p::autonat::to_string(autonat->reachability());
    status.nat_kind = p2p::autonat::to_string(autonat->nat_kind());
  }
  if (const auto* table = p2p.dht()) status.dht = dht_status(*table);
}

}  // namespace stargate::agent
