#pragma once
// Conversions between multiaddrs and TCP endpoints.
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "p2p/host/asio.hpp"

#include <vector>

namespace stargate::p2p {

// /ip4/A/tcp/P or /ip6/A/tcp/P, optionally followed by /p2p/ID. DNS names are not resolved here.
Result<tcp::endpoint> to_tcp_endpoint(const Multiaddr& addr);
Multiaddr to_multiaddr(const tcp::endpoint& endpoint);

// Resolves /dns/, /dns4/, /dns6/ names (and passes ip4/ip6 through) to the endpoints to try, in order.
awaitable<std::vector<tcp::endpoint>> resolve_tcp(const Multiaddr& addr);

bool is_loopback(const asio::ip::address& address);

}  // namespace stargate::p2p
