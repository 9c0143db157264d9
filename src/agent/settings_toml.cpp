// config.toml: the TOML layer of the settings chain (apply_toml_file, apply_toml_text).
#include "agent/settings.hpp"
#include "agent/settings_detail.hpp"

// toml++ is included here only. Debian builds it as a shared library too: when the target
// tomlplusplus::tomlplusplus is linked it defines TOML_HEADER_ONLY=0 and this file uses the library;
// otherwise toml++ defaults to header-only and is compiled into this one translation unit.
#include <toml++/toml.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

namespace stargate::agent {
namespace fs = std::filesystem;

namespace {

using detail::check_limit;
using detail::kMaxDhtDisjointPaths;
using detail::kMaxMillis;
using detail::kMaxRelayReservations;
using detail::kMaxSeconds;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

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

}  // namespace

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

}  // namespace stargate::agent
