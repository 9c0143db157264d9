#include "agent/status_json.hpp"

#include "agent/resource_report.hpp"

#include <boost/json.hpp>

namespace stargate::agent {

namespace json = boost::json;

json::value to_json(const PeerSummary& peer) {
  json::object o{{"agent_id", peer.agent_id}, {"peer_id", peer.peer_id}, {"name", peer.name}, {"software", peer.software}};
  o["capabilities"] = json::value_from(peer.capabilities);
  o["addresses"] = json::value_from(peer.addresses);
  o["last_seen_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(peer.last_seen.time_since_epoch()).count();
  return o;
}

json::value to_json(const NodeStatus& s) {
  json::array addresses;
  for (const auto& a : s.addresses) addresses.emplace_back(a);
  json::array reservations;
  for (const auto& r : s.reservations) {
    json::object o{{"relay", r.relay}, {"active", r.active}};
    if (r.active)
      o["expires_unix"] = std::chrono::duration_cast<std::chrono::seconds>(r.expiry.time_since_epoch()).count();
    if (!r.last_error.empty()) o["last_error"] = r.last_error;
    reservations.push_back(std::move(o));
  }
  json::array relays;
  for (const auto& r : s.relays) {
    json::object o{{"relay", r.relay},
                   {"address", r.address},
                   {"health", r.health},
                   {"reserving", r.reserving},
                   {"consecutive_failures", r.consecutive_failures},
                   {"probes_ok", r.probes_ok},
                   {"probes_failed", r.probes_failed},
                   {"became_unhealthy", r.became_unhealthy},
                   {"became_healthy", r.became_healthy}};
    if (r.rtt_ms) o["rtt_ms"] = *r.rtt_ms;
    if (!r.last_error.empty()) o["last_error"] = r.last_error;
    relays.push_back(std::move(o));
  }
  json::array connections;
  for (const auto& c : s.connections) {
    connections.push_back(json::object{
        {"peer_id", c.peer_id}, {"remote_addr", c.remote_addr}, {"relayed", c.relayed}, {"outbound", c.outbound}});
  }
  // Counts by a bounded label: {"label": n, …}.
  auto punch_failures = json::value_from(s.hole_punch_failures);
  auto pool_evictions = json::value_from(s.pool_evictions);
  auto rejected_by = json::value_from(s.requests_rejected_by);
  auto rate_limited_by = json::value_from(s.requests_rate_limited_by);
  return json::object{{"agent_id", s.agent_id},
                      {"peer_id", s.peer_id},
                      {"name", s.name},
                      {"nats_connected", s.nats_connected},
                      {"metrics_address", s.metrics_address},
                      {"addresses", std::move(addresses)},
                      {"reservations", std::move(reservations)},
                      {"relays", std::move(relays)},
                      {"connections", std::move(connections)},
                      {"streams", s.streams},
                      {"hole_punch", json::object{{"attempts", s.hole_punch_attempts},
                                                  {"successes", s.hole_punch_successes},
                                                  {"failures", std::move(punch_failures)}}},
                      {"pool", json::object{{"size", s.pool_size},
                                            {"hits", s.pool_hits},
                                            {"misses", s.pool_misses},
                                            {"cap_overruns", s.pool_cap_overruns},
                                            {"evictions", std::move(pool_evictions)}}},
                      {"traffic", json::object{{"libp2p", json::object{{"bytes_in", s.libp2p_bytes_in},
                                                                       {"bytes_out", s.libp2p_bytes_out}}},
                                               {"nats", json::object{{"bytes_in", s.nats_bytes_in},
                                                                     {"bytes_out", s.nats_bytes_out}}}}},
                      {"dht", json::object{{"mode", s.dht.mode},
                                           {"routing_table_peers", s.dht.routing_table_peers},
                                           {"provider_records", s.dht.provider_records},
                                           {"value_records", s.dht.value_records},
                                           {"requests_served", s.dht.requests_served},
                                           {"requests_refused", s.dht.requests_refused},
                                           {"requests_sent", s.dht.requests_sent},
                                           {"requests_failed", s.dht.requests_failed},
                                           {"lookups", s.dht.lookups},
                                           {"records_refused", s.dht.records_refused},
                                           {"requests_rate_limited", s.dht.requests_rate_limited},
                                           {"peers_backed_off", s.dht.peers_backed_off},
                                           {"connections_refused_backoff", s.dht.connections_refused_backoff},
                                           {"publishes", s.dht.publishes}}},
                      {"reachability", s.reachability},
                      {"nat_kind", s.nat_kind},
                      {"known_peers", s.known_peers},
                      {"calls_sent", s.calls_sent},
                      {"calls_ok", s.calls_ok},
                      {"calls_ok_libp2p", s.calls_ok_libp2p},
                      {"calls_ok_direct", s.calls_ok_direct},
                      {"calls_ok_relayed", s.calls_ok_relayed},
                      {"calls_ok_nats", s.calls_ok_nats},
                      {"calls_failed", s.calls_failed},
                      {"libp2p_fallbacks", s.libp2p_attempts_failed},
                      {"requests_served", s.requests_served},
                      {"requests_rejected", s.requests_rejected},
                      {"requests_rejected_by", std::move(rejected_by)},
                      {"requests_deduplicated", s.requests_deduplicated},
                      {"handlers_cancelled", s.handlers_cancelled},
                      {"streams_open", s.streams_open},
                      {"stream_buffered_bytes", s.stream_buffered_bytes},
                      {"streams_resumed", s.streams_resumed},
                      {"requests_rate_limited", s.requests_rate_limited},
                      {"requests_rate_limited_by", std::move(rate_limited_by)},
                      {"resources", to_json(s.resources)},
                      {"peers_backed_off", s.peers_backed_off},
                      {"connections_refused_backoff", s.connections_refused_backoff}};
}

}  // namespace stargate::agent
