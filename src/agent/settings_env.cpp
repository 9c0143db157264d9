// The environment: the STARGATE_* variables layer of the settings chain (apply_environment).
#include "agent/settings.hpp"
#include "agent/settings_detail.hpp"

#include <cctype>
#include <charconv>
#include <initializer_list>
#include <string>

namespace stargate::agent {

namespace {

using detail::check_limit;
using detail::kMaxDhtDisjointPaths;
using detail::kMaxRelayReservations;
using detail::kMaxSeconds;
using detail::limit_env_name;
using detail::split_list;
using detail::trim;

// A duration in seconds from an environment variable ("30", "2.5"), between 1 ms and 24 hours.
Result<std::chrono::milliseconds> env_seconds(const char* name, const char* value, std::string_view what) {
  std::string_view text = value;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc{} && end == text.data() + text.size()) {
    if (auto ms = checked_seconds(seconds)) return *ms;
  }
  return make_error(std::string(name) + "='" + value + "' is not " + std::string(what) +
                    ": give seconds between 0.001 and " + std::to_string(kMaxSeconds) + ", e.g. 30 or 2.5");
}

const char* env_value(const GetEnv& getenv, const char* name) {
  const char* value = getenv(name);
  return (value != nullptr && *value != '\0') ? value : nullptr;
}

// A whole number between 1 and `max` from environment variable `name`, or an error that names it
// and says what it wants (`wanted`: "a number of connections", ...; `example`: a good value).
Result<std::int64_t> env_whole_number(const char* name, const char* value, std::int64_t max, std::string_view wanted,
                                      std::string_view example) {
  const std::string_view text = trim(value);
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > max) {
    return make_error(std::string(name) + "='" + value + "' is not " + std::string(wanted) +
                      ": give a whole number between 1 and " + std::to_string(max) + ", e.g. " + std::string(example));
  }
  return n;
}

}  // namespace

Result<void> apply_environment(Settings& settings, const GetEnv& getenv) {
  Settings next = settings;
  if (const char* v = env_value(getenv, "STARGATE_NAME")) next.display_name = v;
  if (const char* v = env_value(getenv, "STARGATE_CAPABILITIES")) next.capabilities = split_list(v);
  for (const char* name : {"STARGATE_NATS_URL", "NATS_URL"}) {
    if (const char* v = env_value(getenv, name)) {
      if (auto urls = split_list(v); !urls.empty()) {
        next.nats_urls = std::move(urls);
        break;
      }
    }
  }
  if (const char* v = env_value(getenv, "STARGATE_NATS_USER")) next.nats_user = v;
  if (const char* v = env_value(getenv, "STARGATE_NATS_PASSWORD")) next.nats_password = v;
  if (const char* v = env_value(getenv, "STARGATE_NATS_TOKEN")) next.nats_token = v;
  if (const char* v = env_value(getenv, "STARGATE_NATS_TOKEN_FILE")) next.nats_token_file = v;
  if (const char* v = env_value(getenv, "STARGATE_NATS_CREDS")) next.nats_creds_file = v;
  if (const char* v = env_value(getenv, "STARGATE_LOG_LEVEL")) next.log_level = v;
  if (const char* v = env_value(getenv, "STARGATE_LISTEN")) next.listen_addrs = split_list(v);
  if (const char* v = env_value(getenv, "STARGATE_RELAYS")) next.relays = split_list(v);
  if (const char* v = env_value(getenv, "STARGATE_ANNOUNCE_ADDRS")) next.announce_addrs = split_list(v);
  if (const char* v = env_value(getenv, "STARGATE_METRICS_LISTEN")) next.metrics_listen = v;
  if (const char* v = env_value(getenv, "STARGATE_TREAT_AS_PUBLIC")) next.treat_as_public = split_list(v);
  if (const char* v = env_value(getenv, "STARGATE_CALL_TIMEOUT")) {
    auto timeout = env_seconds("STARGATE_CALL_TIMEOUT", v, "a call timeout");
    if (!timeout) return make_error(timeout.error().message);
    next.call_timeout = *timeout;
  }
  if (const char* v = env_value(getenv, "STARGATE_RELAY_HEALTH_INTERVAL")) {
    auto interval = env_seconds("STARGATE_RELAY_HEALTH_INTERVAL", v, "a relay health interval");
    if (!interval) return make_error(interval.error().message);
    next.relay_health_interval = *interval;
  }
  if (const char* v = env_value(getenv, "STARGATE_RELAY_RESERVATIONS")) {
    const std::string_view text = trim(v);
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > kMaxRelayReservations)
      return make_error("STARGATE_RELAY_RESERVATIONS='" + std::string(v) + "' must be a number of relays between 1 and " +
                        std::to_string(kMaxRelayReservations));
    next.relay_reservations = n;
  }
  if (const char* v = env_value(getenv, "STARGATE_TRANSPORTS")) next.transports = split_list(v);
  if (const char* v = env_value(getenv, "STARGATE_DHT_MODE")) next.dht_mode = trim(v);
  if (const char* v = env_value(getenv, "STARGATE_BOOTSTRAP")) next.bootstrap = split_list(v);
  if (const char* v = env_value(getenv, "STARGATE_DHT_DISJOINT_PATHS")) {
    auto n = env_whole_number("STARGATE_DHT_DISJOINT_PATHS", v, kMaxDhtDisjointPaths, "a number of lookup paths", "4");
    if (!n) return n.error();
    next.dht_disjoint_paths = static_cast<std::size_t>(*n);
  }
  if (const char* v = env_value(getenv, "STARGATE_POOL_MAX_CONNECTIONS")) {
    auto n = env_whole_number("STARGATE_POOL_MAX_CONNECTIONS", v, kMaxPoolConnections, "a number of connections", "100");
    if (!n) return n.error();
    next.pool_max_connections = static_cast<std::size_t>(*n);
  }
  if (const char* v = env_value(getenv, "STARGATE_POOL_IDLE_TIMEOUT")) {
    auto n = env_whole_number("STARGATE_POOL_IDLE_TIMEOUT", v, kMaxPoolIdleSeconds, "an idle timeout in seconds", "300");
    if (!n) return n.error();
    next.pool_idle_timeout = std::chrono::seconds(*n);
  }
  for (const auto& k : kLimitKeys) {
    const auto name = limit_env_name(k);
    const char* v = env_value(getenv, name.c_str());
    if (!v) continue;
    const std::string_view text = trim(v);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
      return make_error(name + "='" + v + "' is not a number (" + std::string(k.unit) + ")");
    if (auto r = check_limit(k, value); !r) return make_error(name + "='" + v + "' " + r.error().message);
    next.limits.*k.field = value;
  }
  for (const auto& k : kResourceKeys) {
    std::string name = "STARGATE_RESOURCES_";
    for (char c : k.key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const char* v = env_value(getenv, name.c_str());
    if (!v) continue;
    auto n = env_whole_number(name.c_str(), v, kMaxResourceCount, "a number of " + std::string(k.unit), "1024");
    if (!n) return n.error();
    next.resources.*k.field = static_cast<std::size_t>(*n) * k.scale;
  }
  settings = std::move(next);
  return {};
}

}  // namespace stargate::agent
