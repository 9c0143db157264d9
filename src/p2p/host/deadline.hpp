#pragma once
// forwarding header: remove once src/agent includes the new path (base/deadline_io.hpp, stargate::Deadline)
#include "base/deadline_io.hpp"

namespace stargate::p2p {
using stargate::Deadline;
}  // namespace stargate::p2p
