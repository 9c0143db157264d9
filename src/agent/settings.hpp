#pragma once
// Settings of an agent, in layers (issue 4, docs/configuration.md): defaults, then the TOML config
// file (`config.toml` in the identity directory), then environment variables, then command-line
// flags or API options. Each layer overrides the one before, field by field: a layer that says
// nothing about a field leaves it as it was.
//
// The files: settings.cpp (defaults, overrides, validate, load_settings), settings_toml.cpp (the
// config file; the only user of the TOML parser, toml++, which this header does not expose),
// settings_env.cpp (the environment), settings_chain.{hpp,cpp} (from inputs to NodeOptions).
#include "base/result.hpp"
#include "p2p/pool/connection_pool.hpp"
#include "stargate/resource_limits.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stargate::agent {

inline constexpr std::string_view kConfigFileName = "config.toml";
// The key of an allow list that applies to every --serve method.
inline constexpr std::string_view kAllowAllMethods = "*";
// Bounds of the connection pool's settings (the resource manager admits 512 connections in all).
inline constexpr std::int64_t kMaxPoolConnections = 10'000;
inline constexpr std::int64_t kMaxPoolIdleSeconds = 86'400;  // 24 hours

// The longest duration taken from outside (a flag, config.toml, the environment, a control-socket
// param): a call timeout, an interval, a TTL. Longer ones are refused, not clamped: a value past it
// is a mistake (or an attack: 1e300 seconds overflows every clock), and 24 hours is already longer
// than any call or interval of an agent should be.
inline constexpr std::chrono::milliseconds kMaxDuration{86'400'000};
// The shutdown grace period (`[agent] shutdown_grace_s`, --shutdown-grace): default and most.
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace{5'000};
inline constexpr std::chrono::milliseconds kMaxShutdownGrace{600'000};

// A number of seconds (a flag's or variable's double) as whole milliseconds, rounded to the nearest.
// Refused, with "must be a number of seconds between MIN and MAX, not VALUE" (the caller names the
// value in front): NaN, infinities, and anything that rounds below `min` or above `max` (so negative
// values too). The only conversion of outside seconds to a std::chrono duration: no other code
// multiplies a double by 1000 and casts it (that is undefined behaviour past INT64_MAX).
Result<std::chrono::milliseconds> checked_seconds(double seconds,
                                                  std::chrono::milliseconds min = std::chrono::milliseconds(1),
                                                  std::chrono::milliseconds max = kMaxDuration);

// Abuse prevention (docs/limits.md, "Rate limits"): token buckets for the calls an agent serves
// (per caller, per remote IP) and the announcements it receives (per agent), and the back-off of
// a peer refused too often. Every field is a [limits] key of config.toml and a
// STARGATE_LIMITS_<KEY> environment variable (kLimitKeys lists them with their bounds).
struct RateLimitSettings {
  double calls_per_second = 100, calls_burst = 1000;
  double calls_per_ip_per_second = 500, calls_per_ip_burst = 5000;
  double announcements_per_second = 1, announcements_burst = 10;
  double strikes_before_backoff = 100;  // a whole number
  double backoff_s = 60;
  // Calls over libp2p read or served at once (whole numbers), and the time a caller has to send
  // its request's length prefix and the whole request (docs/limits.md, "Fair shares and deadlines").
  double calls_in_flight = 64, calls_in_flight_per_peer = 16, calls_in_flight_per_ip = 32;
  double request_header_timeout_s = 5, request_timeout_s = 30;
};

struct LimitKey {
  std::string_view key;  // in [limits]; the variable is STARGATE_LIMITS_ + the key in capitals
  double RateLimitSettings::*field;
  double min, max;
  bool whole;  // only whole numbers
  std::string_view unit;
};
inline constexpr LimitKey kLimitKeys[] = {
    {"calls_per_second", &RateLimitSettings::calls_per_second, 0.001, 1e6, false, "calls a second per caller"},
    {"calls_burst", &RateLimitSettings::calls_burst, 1, 1e7, false, "calls per caller"},
    {"calls_per_ip_per_second", &RateLimitSettings::calls_per_ip_per_second, 0.001, 1e6, false, "calls a second per IP"},
    {"calls_per_ip_burst", &RateLimitSettings::calls_per_ip_burst, 1, 1e7, false, "calls per IP"},
    {"announcements_per_second", &RateLimitSettings::announcements_per_second, 0.001, 1e6, false,
     "announcements a second per agent"},
    {"announcements_burst", &RateLimitSettings::announcements_burst, 1, 1e7, false, "announcements per agent"},
    {"strikes_before_backoff", &RateLimitSettings::strikes_before_backoff, 1, 1e7, true,
     "refusals within 10 s that put a peer in back-off"},
    {"backoff_s", &RateLimitSettings::backoff_s, 0.001, 86'400, false, "seconds"},
    {"calls_in_flight", &RateLimitSettings::calls_in_flight, 1, 1e6, true, "calls read or served at once"},
    {"calls_in_flight_per_peer", &RateLimitSettings::calls_in_flight_per_peer, 1, 1e6, true,
     "calls per caller read or served at once"},
    {"calls_in_flight_per_ip", &RateLimitSettings::calls_in_flight_per_ip, 1, 1e6, true,
     "calls per remote IP read or served at once"},
    {"request_header_timeout_s", &RateLimitSettings::request_header_timeout_s, 0.001, 86'400, false, "seconds"},
    {"request_timeout_s", &RateLimitSettings::request_timeout_s, 0.001, 86'400, false, "seconds"},
};

// The libp2p resource manager (docs/limits.md, "Resource manager"): each key of [resources] (and
// STARGATE_RESOURCES_<KEY>) sets one field of stargate::ResourceLimits, a whole number of `unit`
// (memory keys in MiB). [resources.service.<name>] and [resources.protocol."<id>"] tables set a
// service's or protocol's ScopeLimits with the keys of kScopeKeys.
struct ResourceKey {
  std::string_view key;
  std::size_t ResourceLimits::*field;
  std::size_t scale;  // bytes per unit for memory keys, else 1
  std::string_view unit;
};
inline constexpr std::int64_t kMaxResourceCount = 1'000'000'000;
inline constexpr ResourceKey kResourceKeys[] = {
    {"max_connections", &ResourceLimits::max_connections, 1, "connections"},
    {"max_streams", &ResourceLimits::max_streams, 1, "streams"},
    {"max_memory_mb", &ResourceLimits::max_memory, kMiB, "MiB"},
    {"max_pending_handshakes", &ResourceLimits::max_pending_handshakes, 1, "handshakes"},
    {"max_pending_handshakes_per_ip", &ResourceLimits::max_pending_handshakes_per_ip, 1, "handshakes"},
    {"max_negotiating_streams", &ResourceLimits::max_negotiating_streams, 1, "streams"},
    {"max_negotiating_streams_per_peer", &ResourceLimits::max_negotiating_streams_per_peer, 1, "streams"},
    {"max_connections_per_peer", &ResourceLimits::max_connections_per_peer, 1, "connections"},
    {"max_streams_per_peer", &ResourceLimits::max_streams_per_peer, 1, "streams"},
    {"max_memory_per_peer_mb", &ResourceLimits::max_memory_per_peer, kMiB, "MiB"},
    {"max_connections_per_ip", &ResourceLimits::max_connections_per_ip, 1, "connections"},
    {"max_streams_per_connection", &ResourceLimits::max_streams_per_connection, 1, "streams"},
    {"max_memory_per_connection_mb", &ResourceLimits::max_memory_per_connection, kMiB, "MiB"},
};
struct ScopeKey {
  std::string_view key;
  std::size_t ScopeLimits::*field;
  std::size_t scale;
  std::string_view unit;
};
inline constexpr ScopeKey kScopeKeys[] = {
    {"streams", &ScopeLimits::streams, 1, "streams"},
    {"streams_per_peer", &ScopeLimits::streams_per_peer, 1, "streams"},
    {"memory_mb", &ScopeLimits::memory, kMiB, "MiB"},
};

struct Settings {
  std::string display_name;
  std::vector<std::string> capabilities;
  std::vector<std::string> nats_urls;
  std::string nats_user, nats_password, nats_token, nats_token_file, nats_creds_file;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds call_timeout{30'000};
  std::chrono::seconds announce_interval{30};
  std::chrono::seconds announce_ttl{90};
  std::string log_level = "info";
  // How long `stargate connect` drains after SIGINT/SIGTERM before it stops what is left (0 to
  // kMaxShutdownGrace; docs/configuration.md).
  std::chrono::milliseconds shutdown_grace = kDefaultShutdownGrace;
  // libp2p: listen multiaddrs, relays to reserve on (each ending in /p2p/<relay>), extra addresses
  // to announce. use_nats false runs without a broker.
  std::vector<std::string> listen_addrs, relays, announce_addrs;
  // CIDRs whose addresses count as public for AutoNAT and NAT classification, although they are
  // not (a lab's documentation ranges, loopback in tests): docs/reachability.md.
  std::vector<std::string> treat_as_public;
  bool use_nats = true;
  // Relay health probes and how many relays to hold reservations on (docs/relay.md).
  std::chrono::milliseconds relay_health_interval{30'000};
  std::size_t relay_reservations = 2;
  // The transports calls use, in the order tried: "libp2p", "nats" (docs/configuration.md).
  // Leaving "nats" out is the same as use_nats = false.
  std::vector<std::string> transports{"libp2p", "nats"};
  std::string metrics_listen;  // ADDR:PORT for /metrics and /healthz; empty: off
  // libp2p connection pool (docs/limits.md): above this many open connections the least recently
  // used idle one is closed; a connection idle this long is closed. 1..kMaxPoolConnections and
  // 1..kMaxPoolIdleSeconds.
  std::size_t pool_max_connections = p2p::pool::PoolConfig{}.max_connections;
  std::chrono::seconds pool_idle_timeout =
      std::chrono::duration_cast<std::chrono::seconds>(p2p::pool::PoolConfig{}.idle_timeout);
  // Kademlia DHT (docs/dht.md): "auto", "server", "client" or "off"; bootstrap multiaddrs (each
  // ending in /p2p/<peer>); the protocol ID; disjoint lookup paths (1..kMaxDhtDisjointPaths).
  std::string dht_mode = "auto";
  std::vector<std::string> bootstrap;
  std::string dht_protocol = "/stargate/kad/1.0.0";
  std::size_t dht_disjoint_paths = 1;
  RateLimitSettings limits;
  ResourceLimits resources;
  // method -> agents allowed to call it (agent ID, PeerId or display name); the "*" key applies to
  // every --serve method. A caller may call M if allow_any, or it is listed under M or under "*".
  std::map<std::string, std::vector<std::string>> allow;
  bool allow_any = false;
  // --serve methods: (method, command), in the order given.
  std::vector<std::pair<std::string, std::string>> serve;
};

// The built-in defaults (nats_urls = {"nats://127.0.0.1:4222"}).
Settings defaults();

// `<identity_dir>/config.toml`.
std::filesystem::path config_file_path(const std::filesystem::path& identity_dir);

// Overlays the TOML file at `path` (layout in docs/configuration.md). Fields the file does not set are
// left alone; `[serve]` entries replace entries of the same method and add the others; `[allow]`
// lists replace the list of the same method. A missing file is not an error. Errors (nothing is
// applied then): the file cannot be read; it is writable by group or others (it can name commands to
// run; the message says `chmod 600 <path>`); it holds a NATS password or token and is readable by
// group or others; a TOML syntax error (message `<path>:<line>:<column>: ...`); an unknown key
// (named, with the keys its table accepts); a value of the wrong type or out of range (named, with
// the expected type).
Result<void> apply_toml_file(Settings& settings, const std::filesystem::path& path);
// The same for TOML text already in memory, without the file-permission checks; `source` names it in
// error messages.
Result<void> apply_toml_text(Settings& settings, std::string_view text, std::string_view source);

using GetEnv = std::function<const char*(const char*)>;

// Overlays environment variables; an unset or empty variable leaves its field alone:
//   STARGATE_NAME                 display_name
//   STARGATE_CAPABILITIES         capabilities (comma-separated)
//   STARGATE_NATS_URL, NATS_URL   nats_urls (comma-separated; the first that is set wins)
//   STARGATE_NATS_USER            nats_user
//   STARGATE_NATS_PASSWORD        nats_password
//   STARGATE_NATS_TOKEN           nats_token
//   STARGATE_NATS_TOKEN_FILE      nats_token_file
//   STARGATE_NATS_CREDS           nats_creds_file
//   STARGATE_LOG_LEVEL            log_level
//   STARGATE_LISTEN               listen_addrs (comma-separated multiaddrs)
//   STARGATE_RELAYS               relays (comma-separated multiaddrs)
//   STARGATE_ANNOUNCE_ADDRS       announce_addrs (comma-separated multiaddrs)
//   STARGATE_METRICS_LISTEN       metrics_listen (ADDR:PORT)
//   STARGATE_TREAT_AS_PUBLIC      treat_as_public (comma-separated CIDRs)
//   STARGATE_CALL_TIMEOUT         call_timeout, in seconds (decimals allowed: "2.5")
//   STARGATE_RELAY_HEALTH_INTERVAL relay_health_interval, in seconds (decimals allowed)
//   STARGATE_RELAY_RESERVATIONS   relay_reservations
//   STARGATE_TRANSPORTS           transports (comma-separated, in order: "libp2p,nats")
//   STARGATE_POOL_MAX_CONNECTIONS pool_max_connections (a whole number)
//   STARGATE_POOL_IDLE_TIMEOUT    pool_idle_timeout, in whole seconds
//   STARGATE_DHT_MODE             dht_mode (auto, server, client, off)
//   STARGATE_BOOTSTRAP            bootstrap (comma-separated multiaddrs)
//   STARGATE_DHT_DISJOINT_PATHS   dht_disjoint_paths (a whole number)
//   STARGATE_LIMITS_<KEY>         limits.<key> for each of kLimitKeys (STARGATE_LIMITS_CALLS_PER_SECOND=50)
//   STARGATE_RESOURCES_<KEY>      resources.<key> for each of kResourceKeys (STARGATE_RESOURCES_MAX_STREAMS=4096)
// Error (nothing is applied then): a value that cannot be used, e.g. STARGATE_CALL_TIMEOUT=abc; the
// message names the variable.
Result<void> apply_environment(Settings& settings, const GetEnv& getenv = ::getenv);

// The command-line / API layer: set only what the user actually gave.
struct SettingOverrides {
  std::optional<std::string> display_name;
  std::optional<std::vector<std::string>> capabilities;
  std::optional<std::vector<std::string>> nats_urls;
  std::optional<std::string> nats_user, nats_password, nats_token, nats_token_file, nats_creds_file;
  std::optional<std::chrono::milliseconds> connect_timeout, call_timeout;
  std::optional<std::chrono::seconds> announce_interval, announce_ttl;
  std::optional<std::string> log_level;
  std::optional<std::chrono::milliseconds> shutdown_grace;
  std::optional<std::vector<std::string>> listen_addrs, relays, announce_addrs, treat_as_public;
  std::optional<bool> use_nats;
  std::optional<std::chrono::milliseconds> relay_health_interval;
  std::optional<std::size_t> relay_reservations;
  std::optional<std::vector<std::string>> transports;
  std::optional<std::string> metrics_listen;
  std::optional<std::size_t> pool_max_connections;
  std::optional<std::chrono::seconds> pool_idle_timeout;
  std::optional<std::string> dht_mode;
  std::optional<std::vector<std::string>> bootstrap;
  // [limits] keys given on the command line (--limit KEY=VALUE), by key of kLimitKeys.
  std::map<std::string, double> limits;
  // Merged per method: each listed method's list replaces the one before (`--allow A --allow B`
  // becomes {"*": {A, B}}, which leaves per-method lists of the config file in place).
  std::map<std::string, std::vector<std::string>> allow;
  std::optional<bool> allow_any;
  // Merged per method like the config file's [serve]: same method replaces, others are added.
  std::vector<std::pair<std::string, std::string>> serve;
};

void apply_overrides(Settings& settings, const SettingOverrides& overrides);

// use_nats, and "nats" among the transports.
bool nats_enabled(const Settings& settings);

// Cross-field checks after all layers: positive timeouts, announce_ttl > announce_interval, at least
// one NATS URL (unless NATS is off, when libp2p must listen or have a relay), multiaddrs that parse
// (relays with their /p2p/<id>), no empty method names or agent names in allow lists, pool settings
// within their bounds.
Result<void> validate(const Settings& settings);

// The whole chain: defaults < `<identity_dir>/config.toml` < environment < overrides, then validate().
// An identity directory that fails crypto::check_identity_dir (writable by group or others, another
// user's) is refused before its config.toml is read.
Result<Settings> load_settings(const std::filesystem::path& identity_dir, const SettingOverrides& overrides = {},
                               const GetEnv& getenv = ::getenv);

// Whether a caller known by any of `caller_ids` (its agent ID, PeerId, display name) may call `method`:
// allow_any, or one of the IDs is listed under `method` or under "*". Empty IDs never match.
bool is_caller_allowed(const Settings& settings, std::string_view method, const std::vector<std::string>& caller_ids);

}  // namespace stargate::agent
