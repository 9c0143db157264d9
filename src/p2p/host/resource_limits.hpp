#pragma once
// The resource manager's limits live in the public API (NodeOptions::resources), with what each
// scope means: include/stargate/resource_limits.hpp.
#include "stargate/resource_limits.hpp"

namespace stargate::p2p {

using stargate::kMiB;
using stargate::kUnlimited;
using stargate::ResourceLimits;
using stargate::ScopeLimits;

}  // namespace stargate::p2p
