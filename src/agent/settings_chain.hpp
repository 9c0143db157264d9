#pragma once
// The settings chain as a program runs it: defaults < `<identity dir>/config.toml` < environment <
// the command line's (or the program's) overrides, ending in the NodeOptions a StarGateNode takes.
// `stargate connect`, `discover`, `call` and `announce` get their options here, so any other program
// given the same inputs gets the same node (docs/configuration.md, "From a program").
#include "agent/settings.hpp"
#include "stargate/node.hpp"

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace stargate::agent {

// What the chain reads besides the defaults.
struct SettingsInputs {
  // The identity directory named by a flag or by the program; none or empty: $STARGATE_IDENTITY_DIR
  // as `getenv` reads it, then ~/.stargate (crypto::resolve_identity_dir).
  std::optional<std::filesystem::path> identity_dir;
  // How the environment layer reads variables: the process environment unless a test or a program
  // gives its own.
  GetEnv getenv = ::getenv;
  // The last layer: only what the user gave (a CLI maps its flags here, a program its options).
  SettingOverrides overrides;
};

// The chain's outcome: the settings (an agent's --serve methods and allow lists are not node
// options) and the node options made from them.
struct AgentSettings {
  std::filesystem::path identity_dir;  // where config.toml was looked for; also node.identity_dir
  Settings settings;
  NodeOptions node;
};

// The identity directory `inputs` name (see SettingsInputs::identity_dir). Throws ErrorException
// only when nothing names one and no home directory can be found.
std::filesystem::path resolve_identity_dir(const SettingsInputs& inputs);

// NodeOptions from settings that passed validate(), for the identity in `identity_dir`. Error: a
// rate-limit duration no clock can hold ("limits.backoff_s must be a number of seconds ...";
// validate() already refuses those, so only settings that skipped it can fail here).
Result<NodeOptions> to_node_options(const Settings& settings, const std::filesystem::path& identity_dir);

// The whole chain, then to_node_options(). Errors are those of load_settings() (each names its
// source: the config file's path, line and column; the variable; the setting and where it can be
// set) and of to_node_options(); a missing home directory is an error too.
Result<AgentSettings> load_agent_settings(const SettingsInputs& inputs);
// The same, only the node options.
Result<NodeOptions> load_node_options(const SettingsInputs& inputs);

}  // namespace stargate::agent
