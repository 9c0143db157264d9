#pragma once
// The agent layer's logger (module "agent": --log-level agent=debug).
#include "base/log.hpp"

namespace stargate::agent {

inline const std::shared_ptr<spdlog::logger>& logger() { return log::module<"agent">(); }

}  // namespace stargate::agent
