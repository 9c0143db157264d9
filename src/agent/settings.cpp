// The settings' values: defaults, the command-line / API layer (apply_overrides), the checks made
// after every layer (validate) and the chain from an identity directory (load_settings). The
// config.toml reader is settings_toml.cpp, the environment's settings_env.cpp; the path to
// NodeOptions settings_chain.cpp.
#include "agent/settings.hpp"
#include "agent/settings_detail.hpp"

#include "agent/jsonrpc.hpp"
#include "base/multiaddr.hpp"
#include "crypto/key_file.hpp"
#include "p2p/protocols/autonat/address_classifier.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

namespace stargate::agent {
namespace fs = std::filesystem;

static_assert(detail::kMaxMillis == kMaxDeadlineMs, "a call timeout a flag accepts must fit in an a2a deadline_ms");

namespace {

// A double as a person writes it: 0.001, 86400, 1e+07.
std::string text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

namespace detail {

// "must be between MIN and MAX UNIT, not VALUE" when `value` is out of the key's bounds.
Result<void> check_limit(const LimitKey& k, double value) {
  if (!std::isfinite(value) || value < k.min || value > k.max || (k.whole && value != std::floor(value))) {
    return make_error(std::string("must be ") + (k.whole ? "a whole number " : "") + "between " + text(k.min) + " and " +
                      text(k.max) + " (" + std::string(k.unit) + "), not " + text(value));
  }
  return {};
}

std::string limit_env_name(const LimitKey& k) {
  std::string name = "STARGATE_LIMITS_";
  for (char c : k.key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace detail

namespace {

using detail::check_limit;
using detail::kMaxDhtDisjointPaths;
using detail::kMaxRelayReservations;
using detail::limit_env_name;

template <class T>
void merge_serve(std::vector<std::pair<std::string, std::string>>& dst, const T& src) {
  for (const auto& [method, command] : src) {
    auto it = std::find_if(dst.begin(), dst.end(), [&](const auto& e) { return e.first == method; });
    if (it != dst.end()) it->second = command;
    else dst.emplace_back(method, command);
  }
}

}  // namespace

Result<std::chrono::milliseconds> checked_seconds(double seconds, std::chrono::milliseconds min,
                                                  std::chrono::milliseconds max) {
  // Every comparison is made on doubles, before any conversion: NaN fails them all, and a value is
  // cast to an integer only once it is known to fit.
  const double ms = std::round(seconds * 1000.0);
  if (std::isfinite(seconds) && std::isfinite(ms) && ms >= static_cast<double>(min.count()) &&
      ms <= static_cast<double>(max.count())) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
  }
  return make_error("must be a number of seconds between " + text(static_cast<double>(min.count()) / 1000.0) +
                    " and " + text(static_cast<double>(max.count()) / 1000.0) + ", not " + text(seconds));
}

Settings defaults() {
  Settings s;
  s.nats_urls = {"nats://127.0.0.1:4222"};
  return s;
}

fs::path config_file_path(const fs::path& identity_dir) { return identity_dir / kConfigFileName; }

void apply_overrides(Settings& settings, const SettingOverrides& o) {
  if (o.display_name) settings.display_name = *o.display_name;
  if (o.capabilities) settings.capabilities = *o.capabilities;
  if (o.nats_urls) settings.nats_urls = *o.nats_urls;
  if (o.nats_user) settings.nats_user = *o.nats_user;
  if (o.nats_password) settings.nats_password = *o.nats_password;
  if (o.nats_token) settings.nats_token = *o.nats_token;
  if (o.nats_token_file) settings.nats_token_file = *o.nats_token_file;
  if (o.nats_creds_file) settings.nats_creds_file = *o.nats_creds_file;
  if (o.connect_timeout) settings.connect_timeout = *o.connect_timeout;
  if (o.call_timeout) settings.call_timeout = *o.call_timeout;
  if (o.announce_interval) settings.announce_interval = *o.announce_interval;
  if (o.announce_ttl) settings.announce_ttl = *o.announce_ttl;
  if (o.log_level) settings.log_level = *o.log_level;
  if (o.shutdown_grace) settings.shutdown_grace = *o.shutdown_grace;
  if (o.listen_addrs) settings.listen_addrs = *o.listen_addrs;
  if (o.relays) settings.relays = *o.relays;
  if (o.announce_addrs) settings.announce_addrs = *o.announce_addrs;
  if (o.treat_as_public) settings.treat_as_public = *o.treat_as_public;
  if (o.use_nats) settings.use_nats = *o.use_nats;
  if (o.metrics_listen) settings.metrics_listen = *o.metrics_listen;
  if (o.relay_health_interval) settings.relay_health_interval = *o.relay_health_interval;
  if (o.relay_reservations) settings.relay_reservations = *o.relay_reservations;
  if (o.transports) settings.transports = *o.transports;
  if (o.pool_max_connections) settings.pool_max_connections = *o.pool_max_connections;
  if (o.pool_idle_timeout) settings.pool_idle_timeout = *o.pool_idle_timeout;
  if (o.dht_mode) settings.dht_mode = *o.dht_mode;
  if (o.bootstrap) settings.bootstrap = *o.bootstrap;
  for (const auto& k : kLimitKeys) {
    if (auto it = o.limits.find(std::string(k.key)); it != o.limits.end()) settings.limits.*k.field = it->second;
  }
  for (const auto& [method, agents] : o.allow) settings.allow[method] = agents;
  if (o.allow_any) settings.allow_any = *o.allow_any;
  merge_serve(settings.serve, o.serve);
}

bool nats_enabled(const Settings& s) {
  return s.use_nats && std::find(s.transports.begin(), s.transports.end(), "nats") != s.transports.end();
}

Result<void> validate(const Settings& s) {
  if (s.transports.empty()) return make_error("transports is empty: give libp2p, nats or both, in the order to try them");
  for (std::size_t i = 0; i < s.transports.size(); ++i) {
    const auto& t = s.transports[i];
    if (t != "libp2p" && t != "nats") return make_error("unknown transport '" + t + "' (known: libp2p, nats)");
    if (std::find(s.transports.begin(), s.transports.begin() + static_cast<std::ptrdiff_t>(i), t) !=
        s.transports.begin() + static_cast<std::ptrdiff_t>(i))
      return make_error("transport '" + t + "' is listed twice");
  }
  if (s.dht_mode != "auto" && s.dht_mode != "server" && s.dht_mode != "client" && s.dht_mode != "off")
    return make_error("unknown DHT mode '" + s.dht_mode +
                      "' (known: auto, server, client, off; set by [dht] mode, STARGATE_DHT_MODE or --dht-mode)");
  if (s.dht_protocol.empty() || s.dht_protocol.front() != '/')
    return make_error("the DHT protocol ID '" + s.dht_protocol + "' must start with '/' (e.g. /stargate/kad/1.0.0)");
  const bool libp2p_on = std::find(s.transports.begin(), s.transports.end(), "libp2p") != s.transports.end();
  if (!libp2p_on && (!s.listen_addrs.empty() || !s.relays.empty()))
    return make_error("listen addresses and relays need the libp2p transport, which transports leaves out");
  if (s.dht_disjoint_paths < 1 || s.dht_disjoint_paths > static_cast<std::size_t>(kMaxDhtDisjointPaths))
    return make_error("dht disjoint_paths must be between 1 and " + std::to_string(kMaxDhtDisjointPaths));
  if (s.relay_reservations < 1 || s.relay_reservations > static_cast<std::size_t>(kMaxRelayReservations))
    return make_error("relay_reservations must be between 1 and " + std::to_string(kMaxRelayReservations));
  if (s.relay_health_interval.count() < 1) return make_error("relay_health_interval must be positive");
  if (nats_enabled(s) && s.nats_urls.empty()) return make_error("no NATS URL: set [nats] urls, $STARGATE_NATS_URL or --nats");
  if (!nats_enabled(s) && s.listen_addrs.empty() && s.relays.empty())
    return make_error("with NATS off, an agent needs a way in: --listen MULTIADDR or --relay MULTIADDR");
  auto check_addrs = [](const std::vector<std::string>& list, std::string_view what, bool need_peer) -> Result<void> {
    for (const auto& text : list) {
      auto addr = Multiaddr::parse(text);
      if (!addr) return make_error(std::string(what) + ": " + addr.error().message);
      if (need_peer && !addr->peer_id_bytes())
        return make_error(std::string(what) + " " + text + " must end in /p2p/<relay PeerId>");
    }
    return {};
  };
  if (auto r = check_addrs(s.listen_addrs, "listen address", false); !r) return r;
  if (auto r = check_addrs(s.relays, "relay", true); !r) return r;
  if (auto r = check_addrs(s.announce_addrs, "announce address", false); !r) return r;
  for (const auto& cidr : s.treat_as_public) {
    if (auto parsed = p2p::autonat::Cidr::parse(cidr); !parsed) return make_error("treat_as_public: " + parsed.error().message);
  }
  for (const auto& url : s.nats_urls) {
    if (url.empty()) return make_error("a NATS URL is empty");
  }
  if (s.connect_timeout.count() <= 0) return make_error("the NATS connect timeout must be positive");
  if (s.call_timeout.count() <= 0) return make_error("the call timeout must be positive");
  if (s.announce_interval.count() <= 0) return make_error("the announce interval must be positive");
  if (s.announce_ttl <= s.announce_interval) {
    return make_error("the announcement TTL (" + std::to_string(s.announce_ttl.count()) +
                      " s) must be longer than the announce interval (" + std::to_string(s.announce_interval.count()) +
                      " s), or peers would forget this agent between announcements");
  }
  if (s.pool_max_connections < 1 || s.pool_max_connections > static_cast<std::size_t>(kMaxPoolConnections)) {
    return make_error("the connection pool's max_connections must be between 1 and " + std::to_string(kMaxPoolConnections) +
                      ", not " + std::to_string(s.pool_max_connections) +
                      " (set by [pool] max_connections, STARGATE_POOL_MAX_CONNECTIONS or --pool-max)");
  }
  if (s.pool_idle_timeout.count() < 1 || s.pool_idle_timeout.count() > kMaxPoolIdleSeconds) {
    return make_error("the connection pool's idle_timeout must be between 1 and " + std::to_string(kMaxPoolIdleSeconds) +
                      " seconds, not " + std::to_string(s.pool_idle_timeout.count()) +
                      " (set by [pool] idle_timeout, STARGATE_POOL_IDLE_TIMEOUT or --pool-idle)");
  }
  for (const auto& k : kLimitKeys) {
    if (auto r = check_limit(k, s.limits.*k.field); !r)
      return make_error("limits." + std::string(k.key) + " " + r.error().message + " (set by [limits] " + std::string(k.key) +
                        ", " + limit_env_name(k) + " or --limit " + std::string(k.key) + "=N)");
  }
  for (const auto& [method, agents] : s.allow) {
    if (method.empty()) return make_error("an allow list has an empty method name");
    for (const auto& agent : agents) {
      if (agent.empty()) return make_error("the allow list of '" + method + "' has an empty entry");
    }
  }
  for (const auto& [method, command] : s.serve) {
    if (method.empty()) return make_error("a served method has an empty name");
    if (command.empty()) return make_error("served method '" + method + "' has an empty command");
  }
  return {};
}

Result<Settings> load_settings(const fs::path& identity_dir, const SettingOverrides& overrides, const GetEnv& getenv) {
  Settings s = defaults();
  // A directory others can write could hold their config.toml (or their key): refused first.
  if (auto r = crypto::check_identity_dir(identity_dir); !r) return r.error();
  if (auto r = apply_toml_file(s, config_file_path(identity_dir)); !r) return r.error();
  if (auto r = apply_environment(s, getenv); !r) return r.error();
  apply_overrides(s, overrides);
  if (auto r = validate(s); !r) return r.error();
  return s;
}

bool is_caller_allowed(const Settings& settings, std::string_view method, const std::vector<std::string>& caller_ids) {
  if (settings.allow_any) return true;
  auto listed = [&](std::string_view key) {
    auto it = settings.allow.find(std::string(key));
    if (it == settings.allow.end()) return false;
    for (const auto& id : caller_ids) {
      if (!id.empty() && std::find(it->second.begin(), it->second.end(), id) != it->second.end()) return true;
    }
    return false;
  };
  return listed(method) || listed(kAllowAllMethods);
}

}  // namespace stargate::agent
