// stargate_lab_perf: a libp2p /perf/1.0.0 client for the NAT lab benchmark (scripts/lab_bench.sh).
// Dials MULTIADDR (direct, or through a relay with /p2p-circuit), then RUNS times opens a perf
// stream and downloads BYTES on it; one JSON line per run: {"bytes":…,"seconds":…,"mbps":…}
// (MB = 10^6 bytes). Every agent (`stargate connect`) and `stargate node` serve /perf/1.0.0.
//
//   stargate_lab_perf MULTIADDR BYTES RUNS [TIMEOUT_SECONDS]
#include "p2p/host/standard_protocols.hpp"
#include "p2p/protocols/perf/perf_io.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace stargate;
using namespace stargate::p2p;

awaitable<void> run(Host& host, Multiaddr target, std::uint64_t bytes, int runs, int& exit_code) {
  auto connection = co_await host.connect(target);
  for (int i = 0; i < runs; ++i) {
    std::vector<std::string> protocols{perf::protocol_id};
    auto stream = co_await host.open_stream(connection, protocols);
    auto result = co_await perf::run(*stream, 0, bytes);
    if (result.downloaded != bytes) throw std::runtime_error("short download");
    double seconds = std::chrono::duration<double>(result.total_time).count();
    std::printf("{\"bytes\":%llu,\"seconds\":%.6f,\"mbps\":%.1f,\"relayed\":%s}\n",
                static_cast<unsigned long long>(bytes), seconds, static_cast<double>(bytes) / seconds / 1e6,
                connection->info().relayed ? "true" : "false");
    std::fflush(stdout);
  }
  exit_code = 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: stargate_lab_perf MULTIADDR BYTES RUNS [TIMEOUT_SECONDS]\n");
    return 2;
  }
  auto target = Multiaddr::parse(argv[1]);
  if (!target) {
    std::fprintf(stderr, "bad multiaddr: %s\n", target.error().message.c_str());
    return 2;
  }
  std::uint64_t bytes = std::strtoull(argv[2], nullptr, 10);
  int runs = std::atoi(argv[3]);
  int timeout = argc > 4 ? std::atoi(argv[4]) : 60;
  boost::asio::io_context io;
  Host host(io.get_executor(), crypto::Ed25519PrivateKey::generate());
  auto identify = enable_standard_protocols(host);
  auto relay_client = relay::RelayClient::enable(host);  // so /p2p-circuit targets can be dialed
  int exit_code = 1;
  std::string failure;
  boost::asio::co_spawn(io, run(host, *target, bytes, runs, exit_code), [&](std::exception_ptr error) {
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
  deadline.expires_after(std::chrono::seconds(timeout));
  deadline.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    failure = "timed out";
    io.stop();
  });
  io.run();
  if (exit_code != 0) std::fprintf(stderr, "stargate_lab_perf: %s\n", failure.empty() ? "failed" : failure.c_str());
  return exit_code;
}
