#pragma once
// The agent layer's logger (module "agent": --log-level agent=debug).
#include "base/log.hpp"

namespace stargate::agent {

inline const std::shared_ptr<spdlog::logger>& logger() {
  static const auto l = log::get("agent");
  return l;
}

}  // namespace stargate::agent
