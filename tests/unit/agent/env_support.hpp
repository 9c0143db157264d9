#pragma once
// A fake environment for the settings tests: apply_environment() reads variables through it.
#include "agent/settings.hpp"

#include <map>
#include <string>

namespace stargate::agent::testing {

using Env = std::map<std::string, std::string>;

// `env` must outlive the returned function.
inline GetEnv getenv_from(const Env& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace stargate::agent::testing
