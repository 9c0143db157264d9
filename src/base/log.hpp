#pragma once
// Logging (spdlog) with one logger per module ("p2p", "noise", "yamux", "cli", ...), so that
// `--log-level p2p=debug,nats=info` can tune them separately. Never log keys or full payloads.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace stargate::log {

// Returns the logger for a module, creating it with the configured level on first use.
std::shared_ptr<spdlog::logger> get(std::string_view module);

// A module name as a template argument: log::module<"relay">().
template <std::size_t N>
struct ModuleName {
  constexpr ModuleName(const char (&name)[N]) { std::copy_n(name, N, text); }  // NOLINT: implicit on purpose
  char text[N];
};

// The module's logger, looked up once per module rather than once per message. A template rather
// than a file-local helper so that files sharing a module (and a unity batch) share one definition.
template <ModuleName Module>
const std::shared_ptr<spdlog::logger>& module() {
  static const auto logger = get(Module.text);
  return logger;
}

// Applies a level spec: "info", or "warn,p2p=debug,yamux=trace". Throws std::invalid_argument
// naming the bad entry.
void configure(std::string_view spec);

// Switches every logger to one JSON object per line on stderr.
void use_json(bool enabled);

}  // namespace stargate::log
