#pragma once
// The status model (NodeStatus, include/stargate/node.hpp) filled from the parts that know it: the
// libp2p endpoint (addresses, relays, connections, pool, resources, hole punching, reachability)
// and the DHT. Rendered once to JSON (status_json.hpp) and once to Prometheus (status_metrics.hpp).
#include "agent/p2p_endpoint.hpp"
#include "stargate/node.hpp"

namespace stargate::agent {

NodeStatus::Dht dht_status(const p2p::kad::Dht& dht);
// Everything the libp2p endpoint knows, into `status`.
void add_libp2p_status(NodeStatus& status, P2pEndpoint& endpoint);

}  // namespace stargate::agent
