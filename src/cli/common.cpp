#include "cli/common.hpp"

#include "agent/settings.hpp"
#include "base/log.hpp"
#include "crypto/key_file.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>

namespace stargate::cli {

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--identity-dir", options.identity_dir,
                 "Directory holding the identity key and config (default: $STARGATE_IDENTITY_DIR or ~/.stargate)");
  app.add_option("--log-level", options.log_level, "Log levels, e.g. 'info' or 'warn,p2p=debug,yamux=trace'");
  app.add_flag("--log-json", options.log_json, "Log one JSON object per line on stderr");
  // Also after the subcommand, where people type them (`stargate identity generate --identity-dir
  // ./id`): an option a subcommand does not know falls through to its parent, up to these. CLI11
  // copies the setting into each subcommand when it is made, so this comes before any.
  app.fallthrough();
}

void apply_logging(const GlobalOptions& options) {
  try {
    log::configure(options.log_level);
  } catch (const std::invalid_argument& e) {
    throw CliError(std::string("--log-level: ") + e.what(), 2);
  }
  log::use_json(options.log_json);
}

crypto::Ed25519PrivateKey load_or_create_identity(const GlobalOptions& options) {
  auto paths = crypto::resolve_identity_dir(options.identity_dir);
  bool created = false;
  auto key = crypto::load_or_create_identity(paths, created);
  if (!key) throw CliError(key.error().message);
  if (created) std::cerr << "stargate: created a new identity in " << paths.key_file().string() << "\n";
  return std::move(*key);
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

CLI::Option* add_shutdown_grace_option(CLI::App* command, double& seconds) {
  return command->add_option("--shutdown-grace", seconds,
                             "Seconds to drain after SIGINT/SIGTERM before what is left is stopped, 0 to 600 "
                             "(a second signal stops at once)")
      ->capture_default_str();
}

std::chrono::milliseconds shutdown_grace(double seconds) {
  auto ms = agent::checked_seconds(seconds, std::chrono::milliseconds(0), agent::kMaxShutdownGrace);
  if (!ms) throw CliError("--shutdown-grace " + ms.error().message, 2);
  return *ms;
}

static_assert(kDefaultShutdownGrace == agent::kDefaultShutdownGrace, "one default grace for every command");

namespace {

auto shutdown_logger() {
  static auto l = log::get("cli");
  return l;
}

const char* signal_name(int signo) { return signo == SIGINT ? "SIGINT" : signo == SIGTERM ? "SIGTERM" : "a signal"; }

std::string seconds_text(std::chrono::milliseconds ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buffer;
}

}  // namespace

struct ShutdownWatch::State {
  State(boost::asio::io_context& target, std::chrono::milliseconds grace, std::function<void()> drain)
      : target(target), grace(grace), drain(std::move(drain)) {}

  boost::asio::io_context& target;
  boost::asio::io_context own;  // run by the watch's thread
  boost::asio::signal_set signals{own, SIGINT, SIGTERM};
  boost::asio::steady_timer timer{own};
  std::chrono::milliseconds grace;
  std::function<void()> drain;
  int seen = 0;  // signals received (on the watch's thread only)
  std::mutex mutex;
  bool finished = false, forced = false;

  void wait_for_signal() {
    signals.async_wait([this](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (++seen > 1) return force(std::string("second signal (") + signal_name(signo) + "): stopping at once");
      shutdown_logger()->info("{}: shutting down, at most {} to drain (--shutdown-grace)", signal_name(signo),
                              seconds_text(grace));
      boost::asio::post(target, drain);
      timer.expires_after(grace);
      timer.async_wait([this](boost::system::error_code timer_ec) {
        if (!timer_ec) force("shutdown grace of " + seconds_text(grace) + " over: stopping what is still running");
      });
      wait_for_signal();
    });
  }

  void force(const std::string& why) {
    std::lock_guard lock(mutex);
    if (finished || forced) return;
    forced = true;
    shutdown_logger()->warn("{}", why);
    target.stop();
  }
};

ShutdownWatch::ShutdownWatch(boost::asio::io_context& io, std::chrono::milliseconds grace, std::function<void()> drain)
    : state_(std::make_shared<State>(io, grace, std::move(drain))) {
  state_->wait_for_signal();
  thread_ = std::thread([state = state_] { state->own.run(); });
}

ShutdownWatch::~ShutdownWatch() {
  finish();
  state_->own.stop();
  if (thread_.joinable()) thread_.join();
}

bool ShutdownWatch::finish() {
  std::lock_guard lock(state_->mutex);
  state_->finished = true;
  return state_->forced;
}

int run_until_signal(boost::asio::io_context& io, std::chrono::milliseconds grace, std::function<void()> drain) {
  ShutdownWatch watch(io, grace, std::move(drain));
  io.run();
  return watch.finish() ? kExitShutdownForced : 0;
}

void run_node_task(std::function<p2p::awaitable<void>(boost::asio::io_context&)> body) {
  boost::asio::io_context io;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    failure = e;
    io.stop();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

StopRequest::StopRequest(boost::asio::any_io_executor executor)
    : timer_(executor, boost::asio::steady_timer::time_point::max()) {}

void StopRequest::request() {
  requested_ = true;
  timer_.cancel();
}

p2p::awaitable<void> StopRequest::wait() {
  while (!requested_) {
    boost::system::error_code ignored;
    co_await timer_.async_wait(boost::asio::redirect_error(p2p::use_awaitable, ignored));
  }
}

int run_service_task(std::chrono::milliseconds grace,
                     std::function<p2p::awaitable<void>(boost::asio::io_context&, StopRequest& stop)> body) {
  boost::asio::io_context io;
  StopRequest stop(io.get_executor());
  std::exception_ptr failure;
  bool finished = false;
  boost::asio::co_spawn(io, body(io, stop), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
    io.stop();
  });
  {
    ShutdownWatch watch(io, grace, [&stop] { stop.request(); });
    io.run();
    watch.finish();
  }
  if (failure) std::rethrow_exception(failure);
  return finished ? 0 : kExitShutdownForced;
}

}  // namespace stargate::cli
