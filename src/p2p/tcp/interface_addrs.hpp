#pragma once
// What a listener bound to an unspecified address (0.0.0.0, ::) can actually be reached at: the
// host's interface addresses, so that peers are told something they can dial.
#include "base/multiaddr.hpp"

#include <vector>

namespace stargate::p2p {

// `listen` itself when its address is specified; otherwise one address per interface address of
// the same family (loopback last, IPv6 link-local left out since it needs a zone to dial).
std::vector<Multiaddr> expand_unspecified(const Multiaddr& listen);

}  // namespace stargate::p2p
