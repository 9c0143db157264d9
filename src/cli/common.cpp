#include "cli/common.hpp"

#include "base/log.hpp"
#include "crypto/key_file.hpp"

#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <iostream>

namespace stargate::cli {

void add_global_options(CLI::App& app, GlobalOptions& options) {
  app.add_option("--identity-dir", options.identity_dir,
                 "Directory holding the identity key and config (default: $STARGATE_IDENTITY_DIR or ~/.stargate)");
  app.add_option("--log-level", options.log_level, "Log levels, e.g. 'info' or 'warn,p2p=debug,yamux=trace'");
  app.add_flag("--log-json", options.log_json, "Log one JSON object per line on stderr");
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

void run_until_signal(boost::asio::io_context& io, std::function<void()> on_signal) {
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) on_signal();
  });
  io.run();
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

}  // namespace stargate::cli
