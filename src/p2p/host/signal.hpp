#pragma once
// forwarding header: remove once src/agent includes the new path (base/signal_io.hpp, stargate::Signal)
#include "base/signal_io.hpp"

namespace stargate::p2p {
using stargate::Signal;
}  // namespace stargate::p2p
