#pragma once
// Circuit addresses: <relay transport address>/p2p/<relay>/p2p-circuit[/p2p/<destination>].
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

#include <optional>
#include <vector>

namespace stargate::p2p::relay {

struct CircuitAddress {
  Multiaddr relay_addr;  // up to /p2p-circuit, ending in /p2p/<relay>
  crypto::PeerId relay;
  std::optional<crypto::PeerId> destination;  // none in a listen address (nothing after /p2p-circuit)
};

// Errors say what is missing: no /p2p-circuit, no relay transport address or relay ID before it,
// anything but one /p2p/<id> after it, a relay that is its own destination.
Result<CircuitAddress> parse_circuit_address(const Multiaddr& addr);

// The addresses at which a peer holding a reservation on `relay` can be reached: each of the
// relay's addresses followed by /p2p-circuit. `dialed` (the address we reached the relay at)
// comes first; loopback addresses the relay reports are kept only when `dialed` is loopback too.
std::vector<Multiaddr> circuit_listen_addrs(const Multiaddr& dialed, const std::vector<Multiaddr>& relay_addrs,
                                            const crypto::PeerId& relay);

}  // namespace stargate::p2p::relay
