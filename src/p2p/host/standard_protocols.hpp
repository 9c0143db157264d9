#pragma once
// What every Stargate node serves: identify (+ push), ping, perf and echo.
#include "p2p/host/host.hpp"
#include "p2p/protocols/identify/identify_io.hpp"

namespace stargate::p2p {

std::shared_ptr<identify::IdentifyService> enable_standard_protocols(Host& host);

}  // namespace stargate::p2p
