#pragma once
// ping (/ipfs/ping/1.0.0): 32 random bytes, echoed back; many pings may share one stream.
#include "p2p/host/host.hpp"

namespace stargate::p2p::ping {

inline constexpr const char* protocol_id = "/ipfs/ping/1.0.0";

void enable(Host& host);
// One round trip on an open ping stream; throws if the echo differs or the stream fails.
awaitable<Clock::duration> round_trip(ByteStream& stream);

}  // namespace stargate::p2p::ping
