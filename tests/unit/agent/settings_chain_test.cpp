// The settings chain as a library entry point (agent::load_node_options, load_agent_settings): the
// NodeOptions a program gets from an identity directory, an environment and overrides, each of
// the four sources winning over the ones before it, and a bad value from any source refused with
// that source named.
#include "agent/settings_chain.hpp"
#include "crypto/key_file.hpp"
#include "env_support.hpp"
#include "settings_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;
using testing::Env;
using testing::TempDir;

const char* kConfig = R"(
[agent]
name = "from-file"
capabilities = ["file-cap"]
[nats]
urls = ["nats://file:4222"]
user = "file-user"
[calls]
timeout_ms = 7000
transports = ["nats", "libp2p"]
[p2p]
relay_reservations = 3
[pool]
max_connections = 40
idle_timeout = 100
[limits]
backoff_s = 2.5
calls_per_second = 10
calls_burst = 20
)";

std::string error_of(const Result<NodeOptions>& r) { return r ? std::string("<no error>") : r.error().message; }

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(SettingsChain, EachSourceOverridesTheOnesBeforeIt) {
  TempDir dir;
  dir.write("config.toml", kConfig);
  Env env{{"STARGATE_NAME", "from-env"},
          {"STARGATE_NATS_URL", "nats://env:4222"},
          {"STARGATE_RELAY_RESERVATIONS", "4"},
          {"STARGATE_POOL_MAX_CONNECTIONS", "50"},
          {"STARGATE_LIMITS_CALLS_PER_SECOND", "11"},
          {"STARGATE_LIMITS_CALLS_BURST", "21"}};
  SettingsInputs inputs;
  inputs.identity_dir = dir.path();
  inputs.getenv = testing::getenv_from(env);
  inputs.overrides.display_name = "from-flag";
  inputs.overrides.relay_reservations = 5;
  inputs.overrides.limits["calls_burst"] = 22;

  auto options = load_node_options(inputs);
  ASSERT_TRUE(options) << error_of(options);
  // Defaults: no source says anything.
  EXPECT_EQ(options->announce_interval, 30s);
  EXPECT_EQ(options->announce_ttl, 90s);
  EXPECT_EQ(options->connect_timeout, 2000ms);
  EXPECT_EQ(options->rate_limits.request_timeout, 30s);
  // config.toml alone.
  EXPECT_EQ(options->capabilities, std::vector<std::string>{"file-cap"});
  EXPECT_EQ(options->nats_user, "file-user");
  EXPECT_EQ(options->default_call_timeout, 7000ms);
  EXPECT_EQ(options->transports, (std::vector<Transport>{Transport::nats, Transport::libp2p}));
  EXPECT_EQ(options->pool_idle_timeout, 100s);
  EXPECT_EQ(options->rate_limits.backoff, 2500ms);
  // The environment over the file.
  EXPECT_EQ(options->nats_urls, std::vector<std::string>{"nats://env:4222"});
  EXPECT_EQ(options->pool_max_connections, 50u);
  EXPECT_EQ(options->rate_limits.calls_per_second, 11);
  // The overrides over both.
  EXPECT_EQ(options->display_name, "from-flag");
  EXPECT_EQ(options->relay_reservations, 5u);
  EXPECT_EQ(options->rate_limits.calls_burst, 22);
  // The identity the node uses is the one whose config.toml was read.
  ASSERT_TRUE(options->identity_dir.has_value());
  EXPECT_EQ(*options->identity_dir, dir.path());
}

TEST(SettingsChain, AgentSettingsKeepWhatIsNotANodeOption) {
  TempDir dir;
  dir.write("config.toml", "[serve]\nsummarize = \"./summarize\"\n[allow]\nsummarize = [\"planner\"]\n");
  Env env;
  SettingsInputs inputs;
  inputs.identity_dir = dir.path();
  inputs.getenv = testing::getenv_from(env);
  inputs.overrides.serve = {{"translate", "./translate"}};
  inputs.overrides.shutdown_grace = 1500ms;
  auto loaded = load_agent_settings(inputs);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->identity_dir, dir.path());
  EXPECT_EQ(loaded->settings.serve.size(), 2u);
  EXPECT_TRUE(is_caller_allowed(loaded->settings, "summarize", {"planner"}));
  EXPECT_EQ(loaded->settings.shutdown_grace, 1500ms);
  EXPECT_EQ(loaded->node.nats_urls, std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST(SettingsChain, TheIdentityDirectoryCanComeFromTheGivenEnvironment) {
  TempDir dir;
  dir.write("config.toml", "[agent]\nname = \"found-through-env\"\n");
  Env env{{crypto::kIdentityDirEnv, dir.path().string()}};
  SettingsInputs inputs;
  inputs.getenv = testing::getenv_from(env);
  auto options = load_node_options(inputs);
  ASSERT_TRUE(options) << error_of(options);
  EXPECT_EQ(options->display_name, "found-through-env");
  EXPECT_EQ(*options->identity_dir, dir.path());
  // A directory given explicitly wins over the variable.
  TempDir other;
  inputs.identity_dir = other.path();
  options = load_node_options(inputs);
  ASSERT_TRUE(options) << error_of(options);
  EXPECT_EQ(options->display_name, "");
  EXPECT_EQ(*options->identity_dir, other.path());
}

TEST(SettingsChain, ABadValueInTheConfigFileNamesTheFile) {
  TempDir dir;
  auto path = dir.write("config.toml", "[calls]\ntimeout_ms = \"soon\"\n");
  Env env;
  SettingsInputs inputs;
  inputs.identity_dir = dir.path();
  inputs.getenv = testing::getenv_from(env);
  // A later layer does not excuse it: the file is wrong.
  inputs.overrides.call_timeout = 5s;
  auto options = load_node_options(inputs);
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, path.string() + ":2:")) << options.error().message;
  EXPECT_TRUE(contains(options.error().message, "calls.timeout_ms must be an integer")) << options.error().message;
}

TEST(SettingsChain, ABadValueInTheEnvironmentNamesTheVariable) {
  TempDir dir;
  Env env{{"STARGATE_CALL_TIMEOUT", "abc"}};
  SettingsInputs inputs;
  inputs.identity_dir = dir.path();
  inputs.getenv = testing::getenv_from(env);
  auto options = load_node_options(inputs);
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, "STARGATE_CALL_TIMEOUT='abc' is not a call timeout")) << options.error().message;

  Env pool{{"STARGATE_POOL_MAX_CONNECTIONS", "0"}};
  inputs.getenv = testing::getenv_from(pool);
  options = load_node_options(inputs);
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, "STARGATE_POOL_MAX_CONNECTIONS='0'")) << options.error().message;
}

TEST(SettingsChain, ABadOverrideNamesTheSettingAndWhereItIsSet) {
  TempDir dir;
  Env env;
  SettingsInputs inputs;
  inputs.identity_dir = dir.path();
  inputs.getenv = testing::getenv_from(env);
  inputs.overrides.limits["calls_per_second"] = 0;
  auto options = load_node_options(inputs);
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, "limits.calls_per_second must be between")) << options.error().message;
  EXPECT_TRUE(contains(options.error().message, "--limit calls_per_second=N")) << options.error().message;

  inputs.overrides.limits.clear();
  inputs.overrides.pool_max_connections = 0;
  options = load_node_options(inputs);
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, "max_connections must be between 1 and 10000, not 0")) << options.error().message;
  EXPECT_TRUE(contains(options.error().message, "--pool-max")) << options.error().message;
}

TEST(SettingsChain, AnIdentityDirectoryOthersCanWriteIsRefusedBeforeItsConfig) {
  TempDir dir;
  dir.write("config.toml", "[agent]\nname = \"planted\"\n");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
  Env env;
  SettingsInputs inputs;
  inputs.identity_dir = dir.path();
  inputs.getenv = testing::getenv_from(env);
  auto options = load_node_options(inputs);
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, dir.path().string())) << options.error().message;
  ::chmod(dir.path().c_str(), 0700);
}

TEST(SettingsChain, NodeOptionsRefuseARateLimitDurationNoClockHolds) {
  auto settings = defaults();
  settings.limits.backoff_s = std::numeric_limits<double>::infinity();
  auto options = to_node_options(settings, "/nonexistent");
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, "limits.backoff_s must be a number of seconds")) << options.error().message;
  settings = defaults();
  settings.limits.request_timeout_s = std::nan("");
  options = to_node_options(settings, "/nonexistent");
  ASSERT_FALSE(options);
  EXPECT_TRUE(contains(options.error().message, "limits.request_timeout_s")) << options.error().message;
}

}  // namespace
}  // namespace stargate::agent
