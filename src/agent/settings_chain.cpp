// From inputs to NodeOptions: the identity directory, load_settings(), and the mapping of Settings
// onto the public API's options.
#include "agent/settings_chain.hpp"

#include "crypto/key_file.hpp"

#include <string>
#include <utility>

namespace stargate::agent {
namespace fs = std::filesystem;

namespace {

// A rate-limit duration in seconds as milliseconds, named after its [limits] key when it cannot be.
Result<std::chrono::milliseconds> limit_seconds(std::string_view key, double seconds) {
  auto ms = checked_seconds(seconds);
  if (!ms) return make_error("limits." + std::string(key) + " " + ms.error().message);
  return *ms;
}

}  // namespace

fs::path resolve_identity_dir(const SettingsInputs& inputs) {
  std::optional<fs::path> dir = inputs.identity_dir;
  // The injected environment's $STARGATE_IDENTITY_DIR comes before the home directory, as the
  // process environment's does in crypto::resolve_identity_dir.
  if (!dir || dir->empty()) {
    if (const char* env = inputs.getenv(crypto::kIdentityDirEnv); env != nullptr && *env != '\0') dir = fs::path(env);
  }
  return crypto::resolve_identity_dir(dir).dir;
}

Result<NodeOptions> to_node_options(const Settings& settings, const fs::path& identity_dir) {
  NodeOptions options;
  options.identity_dir = identity_dir;
  options.display_name = settings.display_name;
  options.capabilities = settings.capabilities;
  options.nats_urls = settings.nats_urls;
  options.nats_user = settings.nats_user;
  options.nats_password = settings.nats_password;
  options.nats_token = settings.nats_token;
  options.nats_token_file = settings.nats_token_file;
  options.nats_creds_file = settings.nats_creds_file;
  options.connect_timeout = settings.connect_timeout;
  options.default_call_timeout = settings.call_timeout;
  options.announce_interval = settings.announce_interval;
  options.announce_ttl = settings.announce_ttl;
  options.listen_addrs = settings.listen_addrs;
  options.relays = settings.relays;
  options.announce_addrs = settings.announce_addrs;
  options.treat_as_public = settings.treat_as_public;
  options.use_nats = nats_enabled(settings);
  options.metrics_listen = settings.metrics_listen;
  options.relay_health_interval = settings.relay_health_interval;
  options.relay_reservations = settings.relay_reservations;
  options.transports.clear();
  for (const auto& name : settings.transports) {
    if (auto transport = parse_transport(name)) options.transports.push_back(*transport);
  }
  options.pool_max_connections = settings.pool_max_connections;
  options.pool_idle_timeout = settings.pool_idle_timeout;
  options.resources = settings.resources;
  options.dht_mode = parse_dht_mode(settings.dht_mode).value_or(DhtMode::auto_);
  options.bootstrap = settings.bootstrap;
  options.dht_protocol = settings.dht_protocol;
  options.dht_disjoint_paths = settings.dht_disjoint_paths;
  const auto& l = settings.limits;
  auto& rate = options.rate_limits;
  rate.calls_per_second = l.calls_per_second;
  rate.calls_burst = l.calls_burst;
  rate.calls_per_ip_per_second = l.calls_per_ip_per_second;
  rate.calls_per_ip_burst = l.calls_per_ip_burst;
  rate.announcements_per_second = l.announcements_per_second;
  rate.announcements_burst = l.announcements_burst;
  rate.strikes_before_backoff = static_cast<std::size_t>(l.strikes_before_backoff);
  rate.calls_in_flight = static_cast<std::size_t>(l.calls_in_flight);
  rate.calls_in_flight_per_peer = static_cast<std::size_t>(l.calls_in_flight_per_peer);
  rate.calls_in_flight_per_ip = static_cast<std::size_t>(l.calls_in_flight_per_ip);
  // Within 0.001..86400 s already (validate()); checked again rather than cast blindly.
  auto backoff = limit_seconds("backoff_s", l.backoff_s);
  if (!backoff) return backoff.error();
  rate.backoff = *backoff;
  auto header_timeout = limit_seconds("request_header_timeout_s", l.request_header_timeout_s);
  if (!header_timeout) return header_timeout.error();
  rate.request_header_timeout = *header_timeout;
  auto request_timeout = limit_seconds("request_timeout_s", l.request_timeout_s);
  if (!request_timeout) return request_timeout.error();
  rate.request_timeout = *request_timeout;
  return options;
}

Result<AgentSettings> load_agent_settings(const SettingsInputs& inputs) {
  AgentSettings out;
  try {
    out.identity_dir = resolve_identity_dir(inputs);
  } catch (const ErrorException& e) {
    return make_error(e.what());
  }
  auto settings = load_settings(out.identity_dir, inputs.overrides, inputs.getenv);
  if (!settings) return settings.error();
  out.settings = std::move(*settings);
  auto node = to_node_options(out.settings, out.identity_dir);
  if (!node) return node.error();
  out.node = std::move(*node);
  return out;
}

Result<NodeOptions> load_node_options(const SettingsInputs& inputs) {
  auto loaded = load_agent_settings(inputs);
  if (!loaded) return loaded.error();
  return std::move(loaded->node);
}

}  // namespace stargate::agent
