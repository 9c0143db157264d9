// Agent commands over NATS: connect (run an agent), discover, call, announce.
#include "agent/control_socket.hpp"
#include "agent/resource_report.hpp"
#include "agent/settings_chain.hpp"
#include "cli/command_runner.hpp"
#include "crypto/key_file.hpp"
#include "cli/common.hpp"
#include "stargate/node.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>

namespace stargate::cli {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using p2p::awaitable;

struct AgentFlags {
  std::vector<std::string> nats;
  std::string name;
  std::vector<std::string> capabilities;
  double connect_timeout = 2.0;
  std::vector<std::string> listen, relays, announce_addrs;
  bool no_nats = false;
  std::string metrics_listen;
  CLI::Option* metrics_flag = nullptr;
  std::vector<std::string> transports;
  CLI::Option* transports_flag = nullptr;
  double relay_health_interval = 30;
  CLI::Option* relay_health_flag = nullptr;
  std::size_t relay_reservations = 2;
  CLI::Option* relay_reservations_flag = nullptr;
  std::int64_t pool_max = 0, pool_idle = 0;
  CLI::Option* pool_max_flag = nullptr;
  CLI::Option* pool_idle_flag = nullptr;
  std::string dht_mode;
  std::vector<std::string> bootstrap;
  CLI::Option* dht_mode_flag = nullptr;
  CLI::Option* bootstrap_flag = nullptr;
  std::vector<std::string> limits;  // --limit KEY=VALUE, [limits] keys
  // Which flags were given: only those override config.toml and the environment.
  CLI::Option* nats_flag = nullptr;
  CLI::Option* listen_flag = nullptr;
  CLI::Option* relay_flag = nullptr;
  CLI::Option* announce_flag = nullptr;
  CLI::Option* name_flag = nullptr;
  CLI::Option* capability_flag = nullptr;
  CLI::Option* timeout_flag = nullptr;
};

void add_agent_flags(CLI::App* command, AgentFlags& flags) {
  flags.nats_flag = command->add_option(
      "--nats", flags.nats, "NATS server URL(s) (default: config.toml, $STARGATE_NATS_URL, $NATS_URL, nats://127.0.0.1:4222)");
  // Duration flags have no CLI11 range check: seconds_flag refuses NaN, infinities, values <= 0 and
  // more than 24 hours, all with exit code 2.
  flags.timeout_flag = command->add_option("--connect-timeout", flags.connect_timeout, "Seconds to wait for the broker");
}

// Where an agent is reachable over libp2p (connect only: one-shot commands just dial).
void add_p2p_flags(CLI::App* command, AgentFlags& flags) {
  flags.listen_flag = command->add_option("--listen,-l", flags.listen,
                                          "libp2p multiaddr to listen on, e.g. /ip4/0.0.0.0/tcp/4001 (repeatable)");
  flags.relay_flag = command->add_option("--relay", flags.relays,
                                         "Relay to reserve a slot on: MULTIADDR ending in /p2p/<relay id> (repeatable)");
  flags.announce_flag = command->add_option("--announce-addr", flags.announce_addrs,
                                            "Extra address to announce, e.g. the public side of a 1:1 NAT (repeatable)");
  command->add_flag("--no-nats", flags.no_nats, "Run without a NATS broker (libp2p only; needs --listen, --relay or --bootstrap)");
  flags.metrics_flag = command->add_option("--metrics-listen", flags.metrics_listen,
                                           "Serve Prometheus /metrics and /healthz at ADDR:PORT (off by default; keep it on loopback)");
  flags.transports_flag = command->add_option("--transports", flags.transports,
                                              "Transports for calls, in the order tried: libp2p,nats (default), nats,libp2p, "
                                              "libp2p or nats")
                              ->delimiter(',');
  flags.relay_health_flag = command->add_option("--relay-health-interval", flags.relay_health_interval,
                                                "Seconds between health probes of each relay (default 30)");
  flags.relay_reservations_flag = command->add_option("--relay-reservations", flags.relay_reservations,
                                                      "Relays to hold a reservation on at once, the first healthy ones in "
                                                      "--relay order (default 2)")
                                      ->check(CLI::Range(1, 16));
  flags.pool_max_flag = command->add_option("--pool-max", flags.pool_max,
                                            "At most this many libp2p connections kept open; above it the least recently used idle "
                                            "one is closed (default 100)")
                            ->check(CLI::Range(std::int64_t{1}, agent::kMaxPoolConnections));
  flags.pool_idle_flag = command->add_option("--pool-idle", flags.pool_idle,
                                             "Seconds a libp2p connection may stay idle before it is closed (default 300)")
                             ->check(CLI::Range(std::int64_t{1}, agent::kMaxPoolIdleSeconds));
  flags.dht_mode_flag = command->add_option("--dht-mode", flags.dht_mode,
                                            "Kademlia DHT role: auto (server once AutoNAT finds the node public; the default), "
                                            "server, client or off")
                            ->check(CLI::IsMember({"auto", "server", "client", "off"}));
  flags.bootstrap_flag = command->add_option("--bootstrap", flags.bootstrap,
                                             "Peer to join the DHT through: MULTIADDR ending in /p2p/<peer id> (repeatable; "
                                             "relays are bootstrap peers too)");
  command->add_option("--limit", flags.limits,
                      "A rate limit as KEY=VALUE, a [limits] key of config.toml, e.g. calls_per_second=50 (repeatable; "
                      "docs/limits.md)");
}

// A duration flag given in seconds, range-checked by agent::checked_seconds (NaN, infinities,
// negative values and more than 24 hours are refused with exit code 2).
std::chrono::milliseconds seconds_flag(std::string_view flag, double seconds,
                                       std::chrono::milliseconds min = std::chrono::milliseconds(1)) {
  auto ms = agent::checked_seconds(seconds, min);
  if (!ms) throw CliError(std::string(flag) + " " + ms.error().message, 2);
  return *ms;
}

// --limit KEY=VALUE into the overrides; the values' bounds are checked with the other settings.
void add_limit_overrides(const std::vector<std::string>& given, agent::SettingOverrides& overrides) {
  for (const auto& item : given) {
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const bool known = std::any_of(std::begin(agent::kLimitKeys), std::end(agent::kLimitKeys),
                                   [&](const auto& k) { return k.key == key; });
    if (eq == std::string::npos || !known) throw CliError("--limit " + item + ": give KEY=VALUE with a [limits] key (docs/limits.md)", 2);
    try {
      std::size_t used = 0;
      const std::string text = item.substr(eq + 1);
      const double value = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
      overrides.limits[key] = value;
    } catch (const std::exception&) {
      throw CliError("--limit " + item + ": the value is not a number", 2);
    }
  }
}

void add_identity_flags(CLI::App* command, AgentFlags& flags, bool name_required) {
  auto* name = command->add_option("--name", flags.name, "Display name");
  if (name_required) name->required();
  flags.name_flag = name;
  flags.capability_flag = command->add_option("--capability", flags.capabilities, "A capability to announce (repeatable)");
}

// The flags that were given, as the settings chain's last layer (agent::SettingOverrides).
agent::SettingOverrides flag_overrides(const AgentFlags& flags, agent::SettingOverrides overrides = {}) {
  if (flags.nats_flag && flags.nats_flag->count()) overrides.nats_urls = flags.nats;
  if (flags.name_flag && flags.name_flag->count()) overrides.display_name = flags.name;
  if (flags.capability_flag && flags.capability_flag->count()) overrides.capabilities = flags.capabilities;
  if (flags.listen_flag && flags.listen_flag->count()) overrides.listen_addrs = flags.listen;
  if (flags.relay_flag && flags.relay_flag->count()) overrides.relays = flags.relays;
  if (flags.announce_flag && flags.announce_flag->count()) overrides.announce_addrs = flags.announce_addrs;
  if (flags.no_nats) overrides.use_nats = false;
  if (flags.metrics_flag && flags.metrics_flag->count()) overrides.metrics_listen = flags.metrics_listen;
  if (flags.transports_flag && flags.transports_flag->count()) overrides.transports = flags.transports;
  if (flags.relay_health_flag && flags.relay_health_flag->count())
    overrides.relay_health_interval = seconds_flag("--relay-health-interval", flags.relay_health_interval);
  if (flags.relay_reservations_flag && flags.relay_reservations_flag->count())
    overrides.relay_reservations = flags.relay_reservations;
  if (flags.pool_max_flag && flags.pool_max_flag->count())
    overrides.pool_max_connections = static_cast<std::size_t>(flags.pool_max);
  if (flags.pool_idle_flag && flags.pool_idle_flag->count()) overrides.pool_idle_timeout = std::chrono::seconds(flags.pool_idle);
  if (flags.dht_mode_flag && flags.dht_mode_flag->count()) overrides.dht_mode = flags.dht_mode;
  if (flags.bootstrap_flag && flags.bootstrap_flag->count()) overrides.bootstrap = flags.bootstrap;
  add_limit_overrides(flags.limits, overrides);
  if (flags.timeout_flag && flags.timeout_flag->count())
    overrides.connect_timeout = seconds_flag("--connect-timeout", flags.connect_timeout);
  return overrides;
}

// The settings chain (agent::load_agent_settings): defaults < config.toml (in the identity
// directory) < environment < flags. Flag errors first, then the chain's, all with exit code 2.
agent::AgentSettings load_agent_settings(const GlobalOptions& global, const AgentFlags& flags,
                                         agent::SettingOverrides overrides = {}) {
  agent::SettingsInputs inputs;
  inputs.overrides = flag_overrides(flags, std::move(overrides));
  // Resolved here, not by the chain, so that a missing home directory stays an exit code 1.
  inputs.identity_dir = crypto::resolve_identity_dir(global.identity_dir).dir;
  auto loaded = agent::load_agent_settings(inputs);
  if (!loaded) throw CliError(loaded.error().message, 2);
  return std::move(*loaded);
}

NodeOptions node_options(const GlobalOptions& global, const AgentFlags& flags) {
  return load_agent_settings(global, flags).node;
}

std::filesystem::path control_path(const GlobalOptions& global) {
  return agent::control_socket_path(crypto::resolve_identity_dir(global.identity_dir).dir);
}

std::string read_params(const std::string& text) {
  if (text == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  if (!text.empty() && text.front() == '@') {
    std::ifstream in(text.substr(1), std::ios::binary);
    if (!in) throw CliError("cannot read " + text.substr(1), 2);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return text;
}

// --serve METHOD=COMMAND: the params on stdin, the JSON result on stdout.
Handler command_handler(std::string command) {
  return [command](const json::value& params, const CallContext&) -> awaitable<json::value> {
    auto outcome = co_await run_command(command, json::serialize(params));
    if (outcome.exit_status != 0)
      throw CallError(-32603, "'" + command + "' exited with status " + std::to_string(outcome.exit_status),
                      json::value(outcome.err));
    boost::system::error_code ec;
    auto result = json::parse(outcome.out, ec);
    if (ec) throw CallError(-32603, "'" + command + "' did not print JSON", json::value(outcome.err));
    co_return result;
  };
}

// --serve-stream METHOD=COMMAND: the params on stdin, one JSON value per line of stdout, each a
// partial result; the final result is null when the program exits 0.
StreamHandler streaming_command_handler(std::string command) {
  return [command](const json::value& params, const CallContext&, ResultStream& partials) -> awaitable<json::value> {
    LineHandler each_line = [&partials, &command](std::string line) -> awaitable<void> {
      boost::system::error_code ec;
      auto value = json::parse(line, ec);
      if (ec) throw CallError(-32603, "'" + command + "' printed a line that is not JSON: " + ec.message());
      co_await partials.send(std::move(value));
    };
    auto outcome = co_await run_command_lines(command, json::serialize(params), std::move(each_line));
    if (outcome.exit_status != 0)
      throw CallError(-32603, "'" + command + "' exited with status " + std::to_string(outcome.exit_status),
                      json::value(outcome.err));
    co_return nullptr;
  };
}

// "libp2p 1234 B in, 5678 B out; nats 12 B in, 34 B out" from the status's "traffic" object.
std::string traffic_line(const json::object& traffic) {
  std::string line;
  for (const auto& [transport, counts] : traffic) {
    if (!counts.is_object()) continue;
    const auto& c = counts.as_object();
    auto count = [&c](const char* key) { return c.contains(key) ? json::serialize(c.at(key)) : std::string("?"); };
    line += (line.empty() ? "" : "; ") + std::string(transport) + " " + count("bytes_in") + " B in, " + count("bytes_out") + " B out";
  }
  return line;
}

}  // namespace

void register_agent_commands(CLI::App& app, GlobalOptions& options) {
  // ---------------------------------------------------------------- connect
  struct ConnectState {
    AgentFlags flags;
    std::vector<std::string> serve;
    std::vector<std::string> serve_stream;
    std::vector<std::string> allow;
    bool allow_any = false;
    bool json = false;
    double shutdown_grace = static_cast<double>(kDefaultShutdownGrace.count()) / 1000;
    CLI::Option* shutdown_grace_flag = nullptr;
  };  // the settings chain adds config.toml's [serve] and [allow]
  auto connect_state = std::make_shared<ConnectState>();
  auto* connect = app.add_subcommand("connect", "Run an agent until SIGINT/SIGTERM: announce, answer calls");
  add_identity_flags(connect, connect_state->flags, false);
  connect->add_option("--serve", connect_state->serve,
                      "METHOD=COMMAND: answer METHOD by running COMMAND (params on stdin, JSON result on stdout)");
  connect->add_option("--serve-stream", connect_state->serve_stream,
                      "METHOD=COMMAND: answer METHOD with a stream, one partial result per JSON line COMMAND prints "
                      "(params on stdin; exit 0 ends it with the result null)");
  connect->add_option("--allow", connect_state->allow,
                      "Agents (agent ID or PeerId) allowed to call --serve methods (repeatable; per method in config.toml)");
  connect->add_flag("--allow-any", connect_state->allow_any, "Let any agent call --serve methods");
  connect->add_flag("--json", connect_state->json, "Print one JSON object per line");
  connect_state->shutdown_grace_flag = add_shutdown_grace_option(connect, connect_state->shutdown_grace);
  add_agent_flags(connect, connect_state->flags);
  add_p2p_flags(connect, connect_state->flags);
  connect->callback([&options, state = connect_state] {
    apply_logging(options);
    agent::SettingOverrides overrides;
    for (const auto& spec : state->serve) {
      auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) throw CliError("--serve expects METHOD=COMMAND, got '" + spec + "'", 2);
      overrides.serve.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    }
    std::vector<std::pair<std::string, std::string>> streamed;
    for (const auto& spec : state->serve_stream) {
      auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) throw CliError("--serve-stream expects METHOD=COMMAND, got '" + spec + "'", 2);
      streamed.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    }
    if (!state->allow.empty()) overrides.allow[std::string(agent::kAllowAllMethods)] = state->allow;
    if (state->allow_any) overrides.allow_any = true;
    if (state->shutdown_grace_flag->count()) overrides.shutdown_grace = shutdown_grace(state->shutdown_grace);
    auto loaded = load_agent_settings(options, state->flags, overrides);
    const auto& settings = loaded.settings;
    if (settings.display_name.empty()) throw CliError("an agent needs a name: --name NAME (or [agent] name in config.toml)", 2);
    bool any_allowed = settings.allow_any;
    for (const auto& [method, list] : settings.allow) any_allowed = any_allowed || !list.empty();
    if ((!settings.serve.empty() || !streamed.empty()) && !any_allowed)
      throw CliError("--serve and --serve-stream expose a local program to the network: name the callers with --allow, or "
                     "pass --allow-any", 2);
    // Bounded shutdown: stop() gets nine tenths of the grace, the rest is for closing.
    auto opts = loaded.node;
    opts.stop_timeout = settings.shutdown_grace - settings.shutdown_grace / 10;
    const int code = run_service_task(settings.shutdown_grace, [&](asio::io_context& io, StopRequest& stop) -> awaitable<void> {
      StarGateNode node(io.get_executor(), opts);
      node.handle("ping", [](const json::value& params, const CallContext&) -> awaitable<json::value> {
        co_return json::object{{"pong", true}, {"echo", params}};
      });
      for (const auto& [method, command] : settings.serve) {
        auto inner = command_handler(command);
        node.handle(method, [inner, &settings](const json::value& params, const CallContext& ctx) -> awaitable<json::value> {
          std::vector<std::string> caller_ids{ctx.caller_agent_id, ctx.caller_peer_id};
          if (!agent::is_caller_allowed(settings, ctx.method, caller_ids))
            throw CallError(-32005, "forbidden: agent " + ctx.caller_agent_id + " may not call " + ctx.method);
          co_return co_await inner(params, ctx);
        });
      }
      for (const auto& [method, command] : streamed) {
        auto inner = streaming_command_handler(command);
        node.handle_stream(method, [inner, &settings](const json::value& params, const CallContext& ctx,
                                                      ResultStream& partials) -> awaitable<json::value> {
          std::vector<std::string> caller_ids{ctx.caller_agent_id, ctx.caller_peer_id};
          if (!agent::is_caller_allowed(settings, ctx.method, caller_ids))
            throw CallError(-32005, "forbidden: agent " + ctx.caller_agent_id + " may not call " + ctx.method);
          co_return co_await inner(params, ctx, partials);
        });
      }
      co_await node.start();
      agent::ControlServer control(io.get_executor(), node, control_path(options));
      // Relayed addresses come later (once a reservation holds): `stargate status` shows them.
      auto addrs = node.get_status().addresses;
      if (state->json) {
        json::array listed;
        for (const auto& a : addrs) listed.emplace_back(a);
        std::cout << "{\"event\":\"started\",\"peer_id\":" << json_quote(node.peer_id())
                  << ",\"agent_id\":" << json_quote(node.agent_id()) << ",\"addrs\":" << json::serialize(listed) << "}"
                  << std::endl;
      } else {
        std::cout << "agent " << settings.display_name << "\npeer_id:  " << node.peer_id() << "\nagent_id: " << node.agent_id()
                  << "\n";
        for (const auto& a : addrs) std::cout << "address:  " << a << "\n";
        std::cout << std::flush;
      }
      co_await stop.wait();  // SIGINT or SIGTERM
      co_await node.stop();
    });
    if (code != 0) throw CliError("", code);  // the shutdown was forced (logged)
  });

  // ---------------------------------------------------------------- discover
  struct DiscoverState {
    AgentFlags flags;
    std::string capability;
    bool json = false;
    double wait = 0.5;
  };
  auto discover_state = std::make_shared<DiscoverState>();
  auto* discover = app.add_subcommand("discover", "List the agents online (alias: peers)");
  discover->alias("peers");
  discover->add_option("--capability", discover_state->capability, "Only agents with this capability");
  discover->add_option("--wait", discover_state->wait, "Seconds to collect answers")->capture_default_str();
  discover->add_flag("--json", discover_state->json, "Print JSON");
  add_agent_flags(discover, discover_state->flags);
  discover->callback([&options, state = discover_state] {
    apply_logging(options);
    const auto window = seconds_flag("--wait", state->wait, std::chrono::milliseconds(0));
    run_node_task([&](asio::io_context& io) -> awaitable<void> {
      // A named optional, not a ternary temporary: g++ 12 mis-copies the latter into the coroutine frame.
      std::optional<std::string> filter;
      if (!state->capability.empty()) filter = state->capability;
      json::array peers;
      json::object query;
      if (filter) query["capability"] = *filter;
      if (auto via_agent = co_await agent::control_request(control_path(options), "discover", query)) {
        peers = via_agent->as_array();
      } else {
        auto node_opts = node_options(options, state->flags);
        node_opts.client_only = true;
        node_opts.discovery_window = window;
        StarGateNode node(io.get_executor(), node_opts);
        co_await node.start();
        for (const auto& p : co_await node.discover(filter)) peers.push_back(agent::to_json(p));
        co_await node.stop();
      }
      if (state->json) {
        std::cout << json::serialize(peers) << "\n";
      } else {
        std::printf("%-32s  %-20s  %s\n", "AGENT ID", "NAME", "CAPABILITIES");
        for (const auto& value : peers) {
          const auto& p = value.as_object();
          std::string caps;
          for (const auto& c : p.at("capabilities").as_array()) caps += (caps.empty() ? "" : ",") + std::string(c.as_string());
          std::printf("%-32s  %-20s  %s\n", std::string(p.at("agent_id").as_string()).c_str(),
                      std::string(p.at("name").as_string()).c_str(), caps.c_str());
        }
      }
    });
  });

  // ---------------------------------------------------------------- call
  struct CallState {
    AgentFlags flags;
    std::string peer, method, params, payload;
    std::string via = "any";
    double timeout = 30;
    bool stream = false;
  };
  auto call_state = std::make_shared<CallState>();
  auto* call = app.add_subcommand(
      "call", "Call METHOD on PEER (agent ID, PeerId, name, or libp2p multiaddr); prints the JSON result");
  call->add_option("peer", call_state->peer,
                   "Agent ID, PeerId, display name, or a multiaddr ending in /p2p/<PeerId> (direct or /p2p-circuit)")
      ->required();
  call->add_option("method", call_state->method, "Method name")->required();
  call->add_option("params", call_state->params, "Params as JSON, @FILE, or - for stdin");
  call->add_option("--payload", call_state->payload, "Params as JSON (same as the positional argument)");
  call->add_option("--timeout", call_state->timeout, "Seconds (at most 86400)")->capture_default_str();
  call->add_option("--via", call_state->via,
                   "Force a tier: direct (libp2p, no relay), relay (through a relay), nats; any = the cascade")
      ->check(CLI::IsMember({"any", "direct", "relay", "nats"}))
      ->capture_default_str();
  call->add_flag("--stream", call_state->stream,
                 "Ask for streamed results: one JSON line per partial result, then the final result on its own line");
  add_agent_flags(call, call_state->flags);
  call->callback([&options, state = call_state] {
    apply_logging(options);
    auto text = read_params(!state->payload.empty() ? state->payload : state->params);
    json::value params = json::object();
    if (!text.empty()) {
      boost::system::error_code ec;
      params = json::parse(text, ec);
      if (ec) throw CliError("params are not valid JSON: " + ec.message(), 2);
    }
    const auto timeout = seconds_flag("--timeout", state->timeout);
    int exit_code = 0;
    run_node_task([&](asio::io_context& io) -> awaitable<void> {
      std::optional<CallError> failure;
      try {
        // Through the running agent when there is one (its identity, sessions and connections).
        json::object request{{"peer", state->peer}, {"method", state->method}, {"params", params},
                             {"timeout_ms", timeout.count()}, {"via", state->via}};
        // A streamed call runs on a node of its own: the control socket answers once per request.
        std::optional<json::value> via_agent;
        if (!state->stream) via_agent = co_await agent::control_request(control_path(options), "call", request);
        if (via_agent) {
          std::cout << json::serialize(*via_agent) << "\n";
        } else {
          auto node_opts = node_options(options, state->flags);
          node_opts.client_only = true;
          // A multiaddr is dialed directly: no broker needed.
          if (!state->peer.empty() && state->peer.front() == '/') node_opts.use_nats = false;
          CallOptions call_options;
          call_options.timeout = timeout;
          call_options.via = parse_via(state->via).value_or(Via::any);
          StarGateNode node(io.get_executor(), node_opts);
          co_await node.start();
          std::optional<CallError> call_failure;
          try {
            if (state->stream) {
              auto stream = co_await node.call_stream(state->peer, state->method, params, call_options);
              for (;;) {
                auto partial = co_await stream.next();
                if (!partial) break;
                std::cout << json::serialize(*partial) << "\n" << std::flush;
              }
              auto result = co_await stream.result();
              std::cout << json::serialize(result) << "\n";
            } else {
              auto result = co_await node.call(state->peer, state->method, params, call_options);
              std::cout << json::serialize(result) << "\n";
            }
          } catch (const CallError& e) {
            call_failure = e;
          }
          co_await node.stop();
          if (call_failure) throw *call_failure;
        }
      } catch (const CallError& e) {
        failure = e;
      }
      if (failure) {
        std::cerr << json::serialize(failure->to_json()) << "\n";
        exit_code = 1;
      }
    });
    if (exit_code != 0) throw CliError("", exit_code);
  });

  // ---------------------------------------------------------------- status
  auto status_json = std::make_shared<bool>(false);
  auto* status = app.add_subcommand("status", "Show the running agent's state (identity, broker, peers, calls)");
  status->add_flag("--json", *status_json, "Print JSON");
  status->callback([&options, json_out = status_json] {
    apply_logging(options);
    run_node_task([&](asio::io_context&) -> awaitable<void> {
      auto via_agent = co_await agent::control_request(control_path(options), "status", json::object());
      if (!via_agent) throw CliError("no agent is running with this identity (start one with: stargate connect --name NAME)");
      if (*json_out) {
        std::cout << json::serialize(*via_agent) << "\n";
        co_return;
      }
      for (const auto& [key, value] : via_agent->as_object()) {
        if (key == "traffic" && value.is_object()) {
          std::cout << "traffic: " << traffic_line(value.as_object()) << "\n";
          continue;
        }
        if (key == "resources" && value.is_object()) {
          std::cout << agent::format_resources(value.as_object());
          continue;
        }
        std::cout << std::string(key) << ": " << (value.is_string() ? std::string(value.as_string()) : json::serialize(value)) << "\n";
      }
    });
  });

  // ---------------------------------------------------------------- announce
  auto announce_state = std::make_shared<AgentFlags>();
  auto* announce = app.add_subcommand("announce", "Announce this identity once (name and capabilities)");
  add_identity_flags(announce, *announce_state, false);
  add_agent_flags(announce, *announce_state);
  announce->callback([&options, state = announce_state] {
    apply_logging(options);
    run_node_task([&](asio::io_context& io) -> awaitable<void> {
      if (co_await agent::control_request(control_path(options), "announce", json::object())) {
        std::cout << "the running agent announced itself\n";
        co_return;
      }
      auto loaded = load_agent_settings(options, *state);
      if (loaded.settings.display_name.empty())
        throw CliError("no agent is running with this identity: give --name to announce once", 2);
      StarGateNode node(io.get_executor(), loaded.node);
      co_await node.start();  // announces
      std::cout << "announced " << node.agent_id() << "\n";
      co_await node.stop();
    });
  });
}

}  // namespace stargate::cli
