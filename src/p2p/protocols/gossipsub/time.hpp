#pragma once
// The router's notion of time: passed in by the caller with every event, never read from a clock
// here, so tests drive it.
#include <chrono>

namespace stargate::p2p::gossipsub {

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

}  // namespace stargate::p2p::gossipsub
