#include "agent/settings.hpp"

#include "agent/jsonrpc.hpp"
#include "base/multiaddr.hpp"
#include "crypto/key_file.hpp"
#include "p2p/protocols/autonat/address_classifier.hpp"

// toml++ is included here only. Debian builds it as a shared library too: when the target
// tomlplusplus::tomlplusplus is linked it defines TOML_HEADER_ONLY=0 and this file uses the library;
// otherwise toml++ defaults to header-only and is compiled into this one translation unit.
#include <toml++/toml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <sstream>

namespace stargate::agent {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;
constexpr std::int64_t kMaxMillis = kMaxDuration.count();  // 24 hours
static_assert(kMaxMillis == kMaxDeadlineMs, "a call timeout a flag accepts must fit in an a2a deadline_ms");
constexpr std::int64_t kMaxSeconds = kMaxMillis / 1000;
constexpr std::int64_t kMaxRelayReservations = 16;
// Each path asks α peers at once: more than a few paths is a flood of requests, not safety.
constexpr std::int64_t kMaxDhtDisjointPaths = 8;

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

// "must be between MIN and MAX UNIT, not VALUE" when `value` is out of the key's bounds.
Result<void> check_limit(const LimitKey& k, double value) {
  auto text = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
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

std::string errno_text(int err) { return std::strerror(err); }

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// A TOML key as it would be written in a dotted path: bare if it can be, else in double quotes.
std::string key_text(std::string_view key) {
  bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (bare) return std::string(key);
  std::string out = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// Reads one TOML document into a Settings, remembering which source it came from for messages.
class TomlReader {
 public:
  TomlReader(Settings& out, std::string_view source) : out_(out), source_(source) {}

  Result<void> read(const toml::table& root) {
    for (auto&& [key, node] : root) {
      const std::string_view k = key.str();
      Result<void> r;
      if (k == "agent") r = section(k, node, &TomlReader::agent_key);
      else if (k == "nats") r = section(k, node, &TomlReader::nats_key);
      else if (k == "calls") r = section(k, node, &TomlReader::calls_key);
      else if (k == "announce") r = section(k, node, &TomlReader::announce_key);
      else if (k == "log") r = section(k, node, &TomlReader::log_key);
      else if (k == "p2p") r = section(k, node, &TomlReader::p2p_key);
      else if (k == "metrics") r = section(k, node, &TomlReader::metrics_key);
      else if (k == "pool") r = section(k, node, &TomlReader::pool_key);
      else if (k == "dht") r = section(k, node, &TomlReader::dht_key);
      else if (k == "limits") r = section(k, node, &TomlReader::limits_key);
      else if (k == "resources") r = section(k, node, &TomlReader::resources_key);
      else if (k == "serve") r = section(k, node, &TomlReader::serve_key);
      else if (k == "allow") r = section(k, node, &TomlReader::allow_key);
      else if (k == "allow_any") r = boolean(node, "allow_any", out_.allow_any);
      else {
        return make_error(at(key.source()) + "unknown key " + key_text(k) +
                          " (the config file has the sections [agent], [nats], [p2p], [dht], [pool], [limits], [resources], [metrics], [calls], [announce], [log], [serve], "
                          "[allow] and the top-level key allow_any; see docs/configuration.md)");
      }
      if (!r) return r;
    }
    return {};
  }

 private:
  using KeyFn = Result<void> (TomlReader::*)(std::string_view key, const toml::node& node);

  std::string at(const toml::node& node) const { return at(node.source()); }
  std::string at(const toml::source_region& region) const {
    const auto& begin = region.begin;
    std::string out(source_);
    if (begin.line != 0) out += ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column);
    return out + ": ";
  }

  Result<void> wrong_type(const toml::node& node, const std::string& path, std::string_view expected) const {
    return make_error(at(node) + path + " must be " + std::string(expected) + ", not " + type_name(node));
  }

  Result<void> unknown(const toml::node& node, std::string_view section, std::string_view key,
                       std::string_view known) const {
    std::string hint;
    if (key == "allow_any") {
      hint = "; allow_any goes at the top of the file, before the first [section], or under [allow]";
    }
    return make_error(at(key_region_) + "unknown key " + key_text(section) + "." + key_text(key) + " (known keys in [" +
                      std::string(section) + "]: " + std::string(known) + ")" + hint);
  }

  Result<void> section(std::string_view name, const toml::node& node, KeyFn fn) {
    const toml::table* table = node.as_table();
    if (table == nullptr) return wrong_type(node, std::string(name), "a table ([" + std::string(name) + "])");
    section_ = name;
    for (auto&& [key, value] : *table) {
      key_region_ = key.source();
      if (auto r = (this->*fn)(key.str(), value); !r) return r;
    }
    return {};
  }

  std::string path(std::string_view key) const { return key_text(section_) + "." + key_text(key); }

  Result<void> string(const toml::node& node, std::string_view key, std::string& out) const {
    const auto* value = node.as_string();
    if (value == nullptr) return wrong_type(node, path(key), "a string");
    out = value->get();
    return {};
  }

  Result<void> nonempty_string(const toml::node& node, std::string_view key, std::string& out) const {
    std::string value;
    if (auto r = string(node, key, value); !r) return r;
    if (value.empty()) return make_error(at(node) + path(key) + " must not be empty");
    out = std::move(value);
    return {};
  }

  Result<void> string_list(const toml::node& node, std::string_view key, std::vector<std::string>& out) const {
    const auto* array = node.as_array();
    if (array == nullptr) return wrong_type(node, path(key), "an array of strings");
    std::vector<std::string> values;
    for (const auto& item : *array) {
      const auto* s = item.as_string();
      if (s == nullptr) return wrong_type(item, path(key) + " entries", "strings");
      if (s->get().empty()) return make_error(at(item) + path(key) + " has an empty entry");
      values.push_back(s->get());
    }
    out = std::move(values);
    return {};
  }

  Result<void> boolean(const toml::node& node, const std::string& name, bool& out) const {
    const auto* value = node.as_boolean();
    if (value == nullptr) return wrong_type(node, name, "a boolean (true or false)");
    out = value->get();
    return {};
  }

  // An integer between 1 and `max`; `unit` says what it counts, for messages.
  Result<void> positive(const toml::node& node, std::string_view key, std::string_view unit, std::int64_t max,
                        std::int64_t& out) const {
    const auto* value = node.as_integer();
    if (value == nullptr) return wrong_type(node, path(key), "an integer (" + std::string(unit) + ")");
    const std::int64_t n = value->get();
    if (n < 1 || n > max) {
      return make_error(at(node) + path(key) + " must be between 1 and " + std::to_string(max) + " " +
                        std::string(unit) + ", not " + std::to_string(n));
    }
    out = n;
    return {};
  }

  template <class Duration>
  Result<void> duration(const toml::node& node, std::string_view key, std::string_view unit, std::int64_t max,
                        Duration& out) const {
    std::int64_t n = 0;
    if (auto r = positive(node, key, unit, max, n); !r) return r;
    out = Duration(n);
    return {};
  }

  Result<void> count(const toml::node& node, std::string_view key, std::int64_t min, std::int64_t max,
                     std::size_t& out) const {
    const auto* value = node.as_integer();
    if (value == nullptr) return wrong_type(node, path(key), "an integer");
    const std::int64_t n = value->get();
    if (n < min || n > max) {
      return make_error(at(node) + path(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", not " + std::to_string(n));
    }
    out = static_cast<std::size_t>(n);
    return {};
  }

  Result<void> agent_key(std::string_view key, const toml::node& node) {
    if (key == "name") return string(node, key, out_.display_name);
    if (key == "capabilities") return string_list(node, key, out_.capabilities);
    if (key == "shutdown_grace_s") {
      std::optional<double> seconds;
      if (const auto* i = node.as_integer()) seconds = static_cast<double>(i->get());
      if (const auto* f = node.as_floating_point()) seconds = f->get();
      if (!seconds) return wrong_type(node, path(key), "a number of seconds");
      auto grace = checked_seconds(*seconds, std::chrono::milliseconds(0), kMaxShutdownGrace);
      if (!grace) return make_error(at(node) + path(key) + " " + grace.error().message);
      out_.shutdown_grace = *grace;
      return {};
    }
    return unknown(node, section_, key, "name, capabilities, shutdown_grace_s");
  }

  Result<void> nats_key(std::string_view key, const toml::node& node) {
    if (key == "urls") {
      if (auto r = string_list(node, key, out_.nats_urls); !r) return r;
      if (out_.nats_urls.empty()) return make_error(at(node) + path(key) + " must list at least one URL");
      return {};
    }
    if (key == "user") return string(node, key, out_.nats_user);
    if (key == "password") return string(node, key, out_.nats_password);
    if (key == "token") return string(node, key, out_.nats_token);
    if (key == "token_file") return string(node, key, out_.nats_token_file);
    if (key == "creds_file") return string(node, key, out_.nats_creds_file);
    if (key == "connect_timeout_ms") return duration(node, key, "milliseconds", kMaxMillis, out_.connect_timeout);
    if (key == "enabled") return boolean(node, std::string(key), out_.use_nats);
    return unknown(node, section_, key,
                   "urls, user, password, token, token_file, creds_file, connect_timeout_ms, enabled");
  }

  Result<void> p2p_key(std::string_view key, const toml::node& node) {
    if (key == "listen") return string_list(node, key, out_.listen_addrs);
    if (key == "relays") return string_list(node, key, out_.relays);
    if (key == "announce") return string_list(node, key, out_.announce_addrs);
    if (key == "treat_as_public") return string_list(node, key, out_.treat_as_public);
    if (key == "relay_health_interval_s") {
      std::chrono::seconds interval{};
      if (auto r = duration(node, key, "seconds", kMaxSeconds, interval); !r) return r;
      out_.relay_health_interval = interval;
      return {};
    }
    if (key == "relay_reservations") return count(node, key, 1, kMaxRelayReservations, out_.relay_reservations);
    return unknown(node, section_, key,
                   "listen, relays, announce, treat_as_public, relay_health_interval_s, relay_reservations");
  }

  Result<void> dht_key(std::string_view key, const toml::node& node) {
    if (key == "mode") return string(node, key, out_.dht_mode);
    if (key == "bootstrap") return string_list(node, key, out_.bootstrap);
    if (key == "protocol") return string(node, key, out_.dht_protocol);
    if (key == "disjoint_paths") return count(node, key, 1, kMaxDhtDisjointPaths, out_.dht_disjoint_paths);
    return unknown(node, section_, key, "mode, bootstrap, protocol, disjoint_paths");
  }

  Result<void> metrics_key(std::string_view key, const toml::node& node) {
    if (key == "listen") return string(node, key, out_.metrics_listen);
    return unknown(node, section_, key, "listen");
  }

  Result<void> pool_key(std::string_view key, const toml::node& node) {
    if (key == "max_connections") {
      std::int64_t n = 0;
      if (auto r = positive(node, key, "connections", kMaxPoolConnections, n); !r) return r;
      out_.pool_max_connections = static_cast<std::size_t>(n);
      return {};
    }
    if (key == "idle_timeout") return duration(node, key, "seconds", kMaxPoolIdleSeconds, out_.pool_idle_timeout);
    return unknown(node, section_, key, "max_connections, idle_timeout");
  }

  // A number (integer or decimal) within the key's bounds.
  Result<void> limits_key(std::string_view key, const toml::node& node) {
    for (const auto& k : kLimitKeys) {
      if (k.key != key) continue;
      std::optional<double> value;
      if (const auto* i = node.as_integer()) value = static_cast<double>(i->get());
      if (const auto* f = node.as_floating_point()) value = f->get();
      if (!value) return wrong_type(node, path(key), "a number (" + std::string(k.unit) + ")");
      if (auto r = check_limit(k, *value); !r) return make_error(at(node) + path(key) + " " + r.error().message);
      out_.limits.*k.field = *value;
      return {};
    }
    std::string known;
    for (const auto& k : kLimitKeys) known += (known.empty() ? "" : ", ") + std::string(k.key);
    return unknown(node, section_, key, known);
  }

  // [resources]: whole numbers; [resources.service.<name>] and [resources.protocol."<id>"] tables.
  Result<void> resources_key(std::string_view key, const toml::node& node) {
    if (key == "service" || key == "protocol") {
      const auto* scopes = node.as_table();
      if (!scopes) return wrong_type(node, path(key), "a table of tables ([resources." + std::string(key) + ".NAME])");
      auto& target = key == "service" ? out_.resources.services : out_.resources.protocols;
      const auto defaults = key == "service" ? out_.resources.service_default : out_.resources.protocol_default;
      for (auto&& [name, table] : *scopes) {
        const auto scope_path = path(key) + "." + key_text(name.str());
        const auto* fields = table.as_table();
        if (!fields) return wrong_type(table, scope_path, "a table");
        auto [it, inserted] = target.try_emplace(std::string(name.str()), defaults);
        for (auto&& [field, value] : *fields) {
          const auto* k = std::find_if(std::begin(kScopeKeys), std::end(kScopeKeys),
                                       [&](const ScopeKey& s) { return s.key == field.str(); });
          if (k == std::end(kScopeKeys)) {
            return make_error(at(field.source()) + "unknown key " + scope_path + "." + key_text(field.str()) +
                              " (known keys: streams, streams_per_peer, memory_mb)");
          }
          std::int64_t n = 0;
          if (auto r = positive(value, std::string(key) + "." + std::string(name.str()) + "." + std::string(field.str()), k->unit,
                                kMaxResourceCount, n); !r)
            return r;
          it->second.*(k->field) = static_cast<std::size_t>(n) * k->scale;
        }
      }
      return {};
    }
    for (const auto& k : kResourceKeys) {
      if (k.key != key) continue;
      std::int64_t n = 0;
      if (auto r = positive(node, key, k.unit, kMaxResourceCount, n); !r) return r;
      out_.resources.*k.field = static_cast<std::size_t>(n) * k.scale;
      return {};
    }
    std::string known;
    for (const auto& k : kResourceKeys) known += std::string(k.key) + ", ";
    return unknown(node, section_, key, known + "service, protocol");
  }

  Result<void> calls_key(std::string_view key, const toml::node& node) {
    if (key == "timeout_ms") return duration(node, key, "milliseconds", kMaxMillis, out_.call_timeout);
    if (key == "transports") return string_list(node, key, out_.transports);
    return unknown(node, section_, key, "timeout_ms, transports");
  }

  Result<void> announce_key(std::string_view key, const toml::node& node) {
    if (key == "interval_s") return duration(node, key, "seconds", kMaxSeconds, out_.announce_interval);
    if (key == "ttl_s") return duration(node, key, "seconds", kMaxSeconds, out_.announce_ttl);
    return unknown(node, section_, key, "interval_s, ttl_s");
  }

  Result<void> log_key(std::string_view key, const toml::node& node) {
    if (key == "level") return nonempty_string(node, key, out_.log_level);
    return unknown(node, section_, key, "level");
  }

  // [serve] <method> = "<command>"
  Result<void> serve_key(std::string_view key, const toml::node& node) {
    if (key.empty()) return make_error(at(node) + "[serve] has an empty method name");
    std::string command;
    if (!node.is_string()) return wrong_type(node, path(key), "a string (the command that answers the method)");
    if (auto r = nonempty_string(node, key, command); !r) return r;
    auto it = std::find_if(out_.serve.begin(), out_.serve.end(), [&](const auto& e) { return e.first == key; });
    if (it != out_.serve.end()) it->second = std::move(command);
    else out_.serve.emplace_back(std::string(key), std::move(command));
    return {};
  }

  // [allow] <method> = ["agent", ...], "*" = [...]; also allow_any = <bool> (same as the top-level key).
  Result<void> allow_key(std::string_view key, const toml::node& node) {
    if (key == "allow_any" && node.is_boolean()) return boolean(node, "allow.allow_any", out_.allow_any);
    if (key.empty()) return make_error(at(node) + "[allow] has an empty method name");
    std::vector<std::string> agents;
    if (!node.is_array()) {
      return wrong_type(node, path(key), "an array of strings (agent IDs, PeerIds or names allowed to call it)");
    }
    if (auto r = string_list(node, key, agents); !r) return r;
    out_.allow[std::string(key)] = std::move(agents);
    return {};
  }

  Settings& out_;
  std::string_view source_;
  std::string_view section_;
  toml::source_region key_region_;  // where the key being read is (unknown keys are reported there)
};

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
  auto text = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  return make_error("must be a number of seconds between " + text(static_cast<double>(min.count()) / 1000.0) +
                    " and " + text(static_cast<double>(max.count()) / 1000.0) + ", not " + text(seconds));
}

Settings defaults() {
  Settings s;
  s.nats_urls = {"nats://127.0.0.1:4222"};
  return s;
}

fs::path config_file_path(const fs::path& identity_dir) { return identity_dir / kConfigFileName; }

Result<void> apply_toml_text(Settings& settings, std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return make_error(std::string(source) + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
                      ": TOML syntax error: " + std::string(e.description()));
  }
  Settings next = settings;
  TomlReader reader(next, source);
  if (auto r = reader.read(root); !r) return r;
  settings = std::move(next);
  return {};
}

Result<void> apply_toml_file(Settings& settings, const fs::path& path) {
  // O_NONBLOCK: a FIFO planted as config.toml must not block the open (fstat then refuses it).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return make_error("cannot open config file " + quoted(path) + ": " + errno_text(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error("cannot stat config file " + quoted(path) + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return make_error("config file " + quoted(path) + " is not a regular file");
  // The file can name commands to run (--serve) and who may call them: only its owner may change it.
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error("config file " + quoted(path) +
                      " is writable by group or others, and it can name commands to run: refusing to use it "
                      "(fix with: chmod go-w " + path.string() + ")");
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return make_error("config file " + quoted(path) + " belongs to another user (uid " + std::to_string(st.st_uid) +
                      "), and it can name commands to run: refusing to use it (fix with: chown " +
                      std::to_string(::geteuid()) + " " + path.string() + ")");
  }
  if (st.st_size > static_cast<off_t>(kMaxConfigBytes)) {
    return make_error("config file " + quoted(path) + " is larger than " + std::to_string(kMaxConfigBytes) + " bytes");
  }

  std::string text;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("cannot read config file " + quoted(path) + ": " + errno_text(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      return make_error("config file " + quoted(path) + " is larger than " + std::to_string(kMaxConfigBytes) +
                        " bytes");
    }
  }

  Settings next = settings;
  if (auto r = apply_toml_text(next, text, path.string()); !r) return r;
  // Secrets in a file others can read are not secrets.
  if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0 &&
      (next.nats_password != settings.nats_password || next.nats_token != settings.nats_token)) {
    return make_error("config file " + quoted(path) +
                      " holds a NATS password or token but is readable by group or others: refusing to use it "
                      "(fix with: chmod 600 " + path.string() + ")");
  }
  settings = std::move(next);
  return {};
}

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
