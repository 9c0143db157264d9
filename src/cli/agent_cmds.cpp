// Agent commands over NATS: connect (run an agent), discover, call, announce.
#include "agent/control_socket.hpp"
#include "cli/command_runner.hpp"
#include "crypto/key_file.hpp"
#include "cli/common.hpp"
#include "stargate/node.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

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
};

void add_agent_flags(CLI::App* command, AgentFlags& flags) {
  command->add_option("--nats", flags.nats,
                      "NATS server URL(s) (default: $STARGATE_NATS_URL, $NATS_URL, nats://127.0.0.1:4222)");
  command->add_option("--connect-timeout", flags.connect_timeout, "Seconds to wait for the broker")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

NodeOptions node_options(const GlobalOptions& global, const AgentFlags& flags) {
  NodeOptions options;
  options.identity_dir = global.identity_dir;
  options.nats_urls = flags.nats;
  options.display_name = flags.name;
  options.capabilities = flags.capabilities;
  options.connect_timeout = std::chrono::milliseconds(static_cast<long>(flags.connect_timeout * 1000));
  return options;
}

// Runs `body` on a fresh io_context until it finishes (or a signal arrives); rethrows its error.
void run_node_task(std::function<awaitable<void>(asio::io_context&)> body) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    failure = e;
    io.stop();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
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

}  // namespace

void register_agent_commands(CLI::App& app, GlobalOptions& options) {
  // ---------------------------------------------------------------- connect
  struct ConnectState {
    AgentFlags flags;
    std::vector<std::string> serve;
    std::vector<std::string> allow;
    bool allow_any = false;
    bool json = false;
  };
  auto connect_state = std::make_shared<ConnectState>();
  auto* connect = app.add_subcommand("connect", "Run an agent until SIGINT/SIGTERM: announce, answer calls");
  connect->add_option("--name", connect_state->flags.name, "Display name")->required();
  connect->add_option("--capability", connect_state->flags.capabilities, "A capability to announce (repeatable)");
  connect->add_option("--serve", connect_state->serve,
                      "METHOD=COMMAND: answer METHOD by running COMMAND (params on stdin, JSON result on stdout)");
  connect->add_option("--allow", connect_state->allow,
                      "Agents (agent ID or PeerId) allowed to call --serve methods (repeatable)");
  connect->add_flag("--allow-any", connect_state->allow_any, "Let any agent call --serve methods");
  connect->add_flag("--json", connect_state->json, "Print one JSON object per line");
  add_agent_flags(connect, connect_state->flags);
  connect->callback([&options, state = connect_state] {
    apply_logging(options);
    if (!state->serve.empty() && state->allow.empty() && !state->allow_any)
      throw CliError("--serve exposes a local program to the network: name the callers with --allow, or pass --allow-any", 2);
    std::set<std::string> allowed(state->allow.begin(), state->allow.end());
    run_node_task([&](asio::io_context& io) -> awaitable<void> {
      StarGateNode node(io.get_executor(), node_options(options, state->flags));
      node.handle("ping", [](const json::value& params, const CallContext&) -> awaitable<json::value> {
        co_return json::object{{"pong", true}, {"echo", params}};
      });
      for (const auto& spec : state->serve) {
        auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0) throw CliError("--serve expects METHOD=COMMAND, got '" + spec + "'", 2);
        auto inner = command_handler(spec.substr(eq + 1));
        bool any = state->allow_any;
        node.handle(spec.substr(0, eq), [inner, allowed, any](const json::value& params, const CallContext& ctx) -> awaitable<json::value> {
          if (!any && !allowed.count(ctx.caller_agent_id) && !allowed.count(ctx.caller_peer_id))
            throw CallError(-32005, "forbidden: agent " + ctx.caller_agent_id + " may not call " + ctx.method);
          co_return co_await inner(params, ctx);
        });
      }
      co_await node.start();
      agent::ControlServer control(io.get_executor(), node, control_path(options));
      if (state->json)
        std::cout << "{\"event\":\"started\",\"peer_id\":" << json_quote(node.peer_id())
                  << ",\"agent_id\":" << json_quote(node.agent_id()) << ",\"addrs\":[]}" << std::endl;
      else
        std::cout << "agent " << state->flags.name << "\npeer_id:  " << node.peer_id() << "\nagent_id: " << node.agent_id()
                  << std::endl;
      asio::signal_set signals(io, SIGINT, SIGTERM);
      co_await signals.async_wait(p2p::use_awaitable);
      co_await node.stop();
    });
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
        node_opts.discovery_window = std::chrono::milliseconds(static_cast<long>(state->wait * 1000));
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
    double timeout = 30;
  };
  auto call_state = std::make_shared<CallState>();
  auto* call = app.add_subcommand("call", "Call METHOD on PEER (agent ID, PeerId or name); prints the JSON result");
  call->add_option("peer", call_state->peer, "Agent ID, PeerId or display name")->required();
  call->add_option("method", call_state->method, "Method name")->required();
  call->add_option("params", call_state->params, "Params as JSON, @FILE, or - for stdin");
  call->add_option("--payload", call_state->payload, "Params as JSON (same as the positional argument)");
  call->add_option("--timeout", call_state->timeout, "Seconds")->check(CLI::PositiveNumber)->capture_default_str();
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
    int exit_code = 0;
    run_node_task([&](asio::io_context& io) -> awaitable<void> {
      auto timeout = std::chrono::milliseconds(static_cast<long>(state->timeout * 1000));
      std::optional<CallError> failure;
      try {
        // Through the running agent when there is one (its identity, sessions and connections).
        json::object request{{"peer", state->peer}, {"method", state->method}, {"params", params},
                             {"timeout_ms", timeout.count()}};
        auto via_agent = co_await agent::control_request(control_path(options), "call", request);
        if (via_agent) {
          std::cout << json::serialize(*via_agent) << "\n";
        } else {
          auto node_opts = node_options(options, state->flags);
          node_opts.client_only = true;
          StarGateNode node(io.get_executor(), node_opts);
          co_await node.start();
          std::optional<CallError> call_failure;
          try {
            auto result = co_await node.call(state->peer, state->method, params, timeout);
            std::cout << json::serialize(result) << "\n";
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
      for (const auto& [key, value] : via_agent->as_object())
        std::cout << std::string(key) << ": " << (value.is_string() ? std::string(value.as_string()) : json::serialize(value)) << "\n";
    });
  });

  // ---------------------------------------------------------------- announce
  auto announce_state = std::make_shared<AgentFlags>();
  auto* announce = app.add_subcommand("announce", "Announce this identity once (name and capabilities)");
  announce->add_option("--name", announce_state->name, "Display name (when no agent is running)");
  announce->add_option("--capability", announce_state->capabilities, "A capability (repeatable)");
  add_agent_flags(announce, *announce_state);
  announce->callback([&options, state = announce_state] {
    apply_logging(options);
    run_node_task([&](asio::io_context& io) -> awaitable<void> {
      if (co_await agent::control_request(control_path(options), "announce", json::object())) {
        std::cout << "the running agent announced itself\n";
        co_return;
      }
      if (state->name.empty()) throw CliError("no agent is running with this identity: give --name to announce once", 2);
      StarGateNode node(io.get_executor(), node_options(options, *state));
      co_await node.start();  // announces
      std::cout << "announced " << node.agent_id() << "\n";
      co_await node.stop();
    });
  });
}

}  // namespace stargate::cli
