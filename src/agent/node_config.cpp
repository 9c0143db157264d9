#include "agent/node_config.hpp"

#include "agent/inbound_dispatcher.hpp"

#include <algorithm>

namespace stargate::agent {

namespace {

bool uses(const NodeOptions& options, Transport transport) {
  return std::find(options.transports.begin(), options.transports.end(), transport) != options.transports.end();
}

// The host's pool settings; throws on values the pool cannot work with.
p2p::pool::PoolConfig pool_config(const NodeOptions& options) {
  if (options.pool_max_connections == 0) throw std::invalid_argument("NodeOptions::pool_max_connections must be at least 1");
  if (options.pool_idle_timeout.count() <= 0) throw std::invalid_argument("NodeOptions::pool_idle_timeout must be positive");
  if (options.pool_grace_period.count() < 0) throw std::invalid_argument("NodeOptions::pool_grace_period must not be negative");
  p2p::pool::PoolConfig config;
  config.max_connections = options.pool_max_connections;
  config.idle_timeout = options.pool_idle_timeout;
  config.grace_period = options.pool_grace_period;
  return config;
}

}  // namespace

void check_node_options(const NodeOptions& options) {
  if (options.transports.empty()) throw std::runtime_error("no transport: give libp2p, nats or both");
  if (!uses(options, Transport::libp2p) && (!options.listen_addrs.empty() || !options.relays.empty()))
    throw std::runtime_error("listen addresses and relays need the libp2p transport, which transports leaves out");
  (void)pool_config(options);
  check_rate_limits(options.rate_limits);
  if (options.stop_timeout < std::chrono::milliseconds::zero())
    throw std::invalid_argument("NodeOptions::stop_timeout must not be negative");
}

P2pOptions p2p_options(const NodeOptions& options) {
  P2pOptions p2p{options.listen_addrs, options.relays, options.announce_addrs, options.treat_as_public, {}, {}, std::nullopt};
  if (options.dht_mode != DhtMode::off && uses(options, Transport::libp2p) && !options.client_only) {
    P2pOptions::Dht dht;
    dht.mode = options.dht_mode == DhtMode::server ? p2p::kad::DhtMode::server : p2p::kad::DhtMode::client;
    dht.follow_reachability = options.dht_mode == DhtMode::auto_;
    dht.bootstrap = options.bootstrap;
    dht.protocol = options.dht_protocol;
    dht.offenders = offender_config(options.rate_limits);
    dht.disjoint_paths = options.dht_disjoint_paths;
    p2p.dht = std::move(dht);
  }
  p2p.relay_health.interval = options.relay_health_interval;
  p2p.relay_health.reservations = options.relay_reservations;
  p2p.pool = pool_config(options);
  p2p.resources = options.resources;
  const auto& r = options.rate_limits;
  p2p.a2a.in_flight = {r.calls_in_flight, r.calls_in_flight_per_peer, r.calls_in_flight_per_ip};
  p2p.a2a.header_timeout = r.request_header_timeout;
  p2p.a2a.body_timeout = r.request_timeout;
  return p2p;
}

}  // namespace stargate::agent
