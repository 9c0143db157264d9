// `stargate ping MULTIADDR`: libp2p ping with ping(8)-style output and statistics.
#include "agent/settings.hpp"
#include "cli/common.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"
#include "p2p/host/standard_protocols.hpp"
#include "p2p/protocols/ping/ping_io.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace stargate::cli {
namespace {

struct PingOptions {
  std::string target;
  int count = 4;
  double interval = 1.0;
  double timeout = 10.0;
  bool json = false;
};

std::string format_ms(double us) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", us / 1000.0);
  return buffer;
}

p2p::awaitable<void> run_ping(p2p::Host& host, const PingOptions& options, int& exit_code) {
  auto addr = Multiaddr::parse(options.target);
  if (!addr) throw CliError(addr.error().message, 2);
  auto start = p2p::Clock::now();
  auto connection = co_await host.connect(*addr);
  auto connect_us = std::chrono::duration<double, std::micro>(p2p::Clock::now() - start).count();
  auto peer = connection->info().remote_peer.to_string();
  std::vector<std::string> protocols{p2p::ping::protocol_id};
  auto stream = co_await host.open_stream(connection, protocols);
  if (!options.json)
    std::cout << "PING " << options.target << ": connected to " << peer << " in " << format_ms(connect_us) << " ms\n";

  std::vector<double> rtts;
  boost::asio::steady_timer timer(host.executor());
  for (int seq = 1; seq <= options.count; ++seq) {
    auto rtt = co_await p2p::ping::round_trip(*stream);
    double us = std::chrono::duration<double, std::micro>(rtt).count();
    rtts.push_back(us);
    if (options.json)
      std::cout << "{\"seq\":" << seq << ",\"rtt_us\":" << static_cast<long long>(std::llround(us)) << "}\n";
    else
      std::cout << "32 bytes from " << peer << ": seq=" << seq << " time=" << format_ms(us) << " ms\n";
    std::cout << std::flush;
    if (seq < options.count && options.interval > 0) {
      // Range-checked when the command started (checked_seconds).
      timer.expires_after(std::chrono::milliseconds(std::llround(options.interval * 1000)));
      co_await timer.async_wait(p2p::use_awaitable);
    }
  }
  co_await stream->close_write();

  double min = rtts.front(), max = rtts.front(), sum = 0;
  for (double v : rtts) {
    min = std::min(min, v);
    max = std::max(max, v);
    sum += v;
  }
  double avg = sum / static_cast<double>(rtts.size());
  double variance = 0;
  for (double v : rtts) variance += (v - avg) * (v - avg);
  double stddev = std::sqrt(variance / static_cast<double>(rtts.size()));
  if (options.json) {
    std::cout << "{\"count\":" << rtts.size() << ",\"min_us\":" << std::llround(min) << ",\"avg_us\":" << std::llround(avg)
              << ",\"max_us\":" << std::llround(max) << ",\"stddev_us\":" << std::llround(stddev) << "}\n";
  } else {
    std::cout << "--- " << peer << " ping statistics ---\n"
              << rtts.size() << " pings, rtt min/avg/max/stddev = " << format_ms(min) << "/" << format_ms(avg) << "/"
              << format_ms(max) << "/" << format_ms(stddev) << " ms\n";
  }
  exit_code = 0;
}

}  // namespace

void register_ping_command(CLI::App& app, GlobalOptions& options) {
  auto state = std::make_shared<PingOptions>();
  auto* ping = app.add_subcommand("ping", "Ping a libp2p peer (/ipfs/ping/1.0.0)");
  ping->add_option("multiaddr", state->target, "Address of the peer, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...")
      ->required();
  ping->add_option("--count,-c", state->count, "Number of pings")->check(CLI::PositiveNumber)->capture_default_str();
  ping->add_option("--interval,-i", state->interval, "Seconds between pings (0: back to back on one stream)")
      ->capture_default_str();
  ping->add_option("--timeout", state->timeout, "Seconds before giving up")->capture_default_str();
  ping->add_flag("--json", state->json, "One JSON object per round trip, then a summary");
  ping->callback([&options, state] {
    apply_logging(options);
    // Range-checked before any conversion: NaN, infinities, negative or huge values exit 2.
    auto interval = agent::checked_seconds(state->interval, std::chrono::milliseconds(0));
    if (!interval) throw CliError("--interval " + interval.error().message, 2);
    auto timeout = agent::checked_seconds(state->timeout);
    if (!timeout) throw CliError("--timeout " + timeout.error().message, 2);
    auto identity = load_or_create_identity(options);
    boost::asio::io_context io;
    p2p::Host host(io.get_executor(), std::move(identity));
    auto identify = p2p::enable_standard_protocols(host);
    auto relay_client = p2p::relay::RelayClient::enable(host);  // so /p2p-circuit targets can be dialed
    int exit_code = 1;
    std::string failure;
    boost::asio::co_spawn(io, run_ping(host, *state, exit_code), [&](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          failure = e.what();
        }
      }
      host.close();
      io.stop();
    });
    boost::asio::steady_timer deadline(io);
    deadline.expires_after(*timeout + *interval * state->count);
    deadline.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      failure = "timed out";
      io.stop();
    });
    io.run();
    if (exit_code != 0) throw CliError("ping " + state->target + ": " + (failure.empty() ? "failed" : failure));
  });
}

}  // namespace stargate::cli
