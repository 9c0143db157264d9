#pragma once
// Pieces every `stargate` command shares: identity directory, logging flags, JSON output, and
// running the node's io_context until a signal arrives.
#include "crypto/ed25519.hpp"
#include "p2p/host/asio.hpp"
#include "p2p/host/host.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>

namespace stargate::cli {

struct GlobalOptions {
  std::optional<std::filesystem::path> identity_dir;
  std::string log_level = "warn";
  bool log_json = false;
};

void add_global_options(CLI::App& app, GlobalOptions& options);
void apply_logging(const GlobalOptions& options);

// Loads the identity, creating one (and saying so on stderr) when there is none.
// Throws CliError when the key file is unreadable, corrupt or too open.
crypto::Ed25519PrivateKey load_or_create_identity(const GlobalOptions& options);

// A failure reported as one line on stderr with a non-zero exit code.
struct CliError : std::runtime_error {
  explicit CliError(const std::string& message, int exit_code = 1) : std::runtime_error(message), code(exit_code) {}
  int code;
};

// Escapes a string for a JSON string literal.
std::string json_quote(std::string_view text);

// Runs `io` until SIGINT or SIGTERM; `on_signal` starts the clean shutdown.
void run_until_signal(boost::asio::io_context& io, std::function<void()> on_signal);

// Runs `body` on a fresh io_context until it finishes; rethrows its error.
void run_node_task(std::function<p2p::awaitable<void>(boost::asio::io_context&)> body);

void register_identity_commands(CLI::App& app, GlobalOptions& options);
void register_node_command(CLI::App& app, GlobalOptions& options);
void register_ping_command(CLI::App& app, GlobalOptions& options);
void register_agent_commands(CLI::App& app, GlobalOptions& options);
void register_relay_command(CLI::App& app, GlobalOptions& options);
void register_demo_command(CLI::App& app, GlobalOptions& options);

// Prints the host's listen addresses (with /p2p/<id>), as text or one JSON line.
void print_listening(const p2p::Host& host, bool json);

}  // namespace stargate::cli
