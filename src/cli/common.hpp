#pragma once
// Pieces every `stargate` command shares: identity directory, logging flags, JSON output, and
// running the node's io_context until a signal arrives.
#include "crypto/ed25519.hpp"
#include "p2p/host/asio.hpp"
#include "p2p/host/host.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace stargate::cli {

struct GlobalOptions {
  std::optional<std::filesystem::path> identity_dir;
  std::string log_level = "warn";
  bool log_json = false;
};

// --identity-dir, --log-level and --log-json, accepted before or after the subcommand; call it
// before the subcommands are registered.
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

// Bounded shutdown of the long-running commands (`relay start`, `connect`, `node`; docs/threat-model.md,
// "Shutdown"): after SIGINT or SIGTERM a command drains for at most its grace period
// (--shutdown-grace SECONDS, 0 to 600, default 5), then stops whatever is still running; a second
// signal stops it at once. Exit code 0 after a clean drain, kExitShutdownForced otherwise.
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace{5'000};  // the most: agent::kMaxShutdownGrace
inline constexpr int kExitShutdownForced = 3;

// Adds --shutdown-grace SECONDS to `command` (the value goes to `seconds`).
CLI::Option* add_shutdown_grace_option(CLI::App* command, double& seconds);
// A grace period in seconds, range-checked: finite, 0 to 600 (else CliError with exit code 2).
std::chrono::milliseconds shutdown_grace(double seconds);

// Watches for SIGINT and SIGTERM on a thread of its own (so that `io` gets no work from it and
// io.run() returns as soon as the drain leaves nothing to do). The first signal posts `drain` to
// `io` and arms a timer for `grace`; when the timer fires, or at a second signal, it logs why
// (warn) and calls io.stop(): io_context::run() then returns whatever is outstanding.
class ShutdownWatch {
 public:
  ShutdownWatch(boost::asio::io_context& io, std::chrono::milliseconds grace, std::function<void()> drain);
  ~ShutdownWatch();  // stops watching (and joins its thread)
  ShutdownWatch(const ShutdownWatch&) = delete;
  ShutdownWatch& operator=(const ShutdownWatch&) = delete;
  // Call once io.run() has returned: true when the watch stopped `io` (grace over or a second signal),
  // false when `io` ran out of work (or was stopped by its owner) first.
  bool finish();

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

// Runs `io` until SIGINT or SIGTERM, then `drain` (on `io`), which should leave `io` with nothing
// to do: returns 0 when io.run() returns by itself, kExitShutdownForced when the ShutdownWatch
// stopped it (the grace ran out, or a second signal came).
int run_until_signal(boost::asio::io_context& io, std::chrono::milliseconds grace, std::function<void()> drain);

// Runs `body` on a fresh io_context until it finishes; rethrows its error.
void run_node_task(std::function<p2p::awaitable<void>(boost::asio::io_context&)> body);

// A stop asked of a coroutine: wait() returns once request() was called (before or after).
class StopRequest {
 public:
  explicit StopRequest(boost::asio::any_io_executor executor);
  void request();
  bool requested() const { return requested_; }
  p2p::awaitable<void> wait();

 private:
  boost::asio::steady_timer timer_;
  bool requested_ = false;
};

// run_node_task for a command that runs until a signal: `body` awaits stop.wait() (which returns
// at the first SIGINT or SIGTERM), then stops what it runs. Bounded like run_until_signal: `body`
// has `grace` from the signal to finish, a second signal stops the io_context at once. Returns 0
// when `body` finished, kExitShutdownForced when it was cut short; rethrows its error.
int run_service_task(std::chrono::milliseconds grace,
                     std::function<p2p::awaitable<void>(boost::asio::io_context&, StopRequest& stop)> body);

void register_identity_commands(CLI::App& app, GlobalOptions& options);
void register_node_command(CLI::App& app, GlobalOptions& options);
void register_ping_command(CLI::App& app, GlobalOptions& options);
void register_agent_commands(CLI::App& app, GlobalOptions& options);
void register_relay_command(CLI::App& app, GlobalOptions& options);
void register_demo_command(CLI::App& app, GlobalOptions& options);

// Prints the host's listen addresses (with /p2p/<id>), as text or one JSON line.
void print_listening(const p2p::Host& host, bool json);

}  // namespace stargate::cli
