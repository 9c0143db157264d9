#pragma once
// echo (/echo/1.0.0, as served by the npm package @libp2p/echo): every byte comes back; the
// server half-closes after the client does. Used by interop tests and benchmarks.
#include "p2p/host/host.hpp"

namespace stargate::p2p::echo {

inline constexpr const char* protocol_id = "/echo/1.0.0";

void enable(Host& host);

}  // namespace stargate::p2p::echo
