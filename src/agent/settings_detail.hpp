#pragma once
// Helpers the settings files share (settings.cpp: the values and their checks; settings_toml.cpp:
// config.toml; settings_env.cpp: the environment). Internal to src/agent/settings*.cpp.
#include "agent/settings.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::agent::detail {

inline constexpr std::int64_t kMaxMillis = kMaxDuration.count();  // 24 hours
inline constexpr std::int64_t kMaxSeconds = kMaxMillis / 1000;
inline constexpr std::int64_t kMaxRelayReservations = 16;
// Each path asks α peers at once: more than a few paths is a flood of requests, not safety.
inline constexpr std::int64_t kMaxDhtDisjointPaths = 8;

// "must be between MIN and MAX UNIT, not VALUE" when `value` is out of the key's bounds.
Result<void> check_limit(const LimitKey& k, double value);
// STARGATE_LIMITS_ + the key in capitals.
std::string limit_env_name(const LimitKey& k);

// `s` without leading and trailing blanks (spaces, tabs, CR, LF).
std::string_view trim(std::string_view s);
// "a, b,,c" -> {"a", "b", "c"}: items trimmed, empty ones dropped.
std::vector<std::string> split_list(std::string_view text);

}  // namespace stargate::agent::detail
