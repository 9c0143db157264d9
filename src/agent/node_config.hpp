#pragma once
// NodeOptions checked and turned into the settings of the parts that use them.
#include "agent/p2p_endpoint.hpp"
#include "stargate/node.hpp"

namespace stargate::agent {

// Throws std::invalid_argument (std::runtime_error for the transports) naming what is wrong.
void check_node_options(const NodeOptions& options);
// The libp2p endpoint's options (listening, relays, DHT, pool, resources, limits on calls served).
P2pOptions p2p_options(const NodeOptions& options);

}  // namespace stargate::agent
