// stargate_pool_bench: agent calls (/stargate/a2a/1.0.0, a 64-byte JSON-RPC request and its
// response) over a pooled connection versus a new connection per call, in one run on loopback.
// The callee host runs on its own io_context in its own thread, the caller on another, as in
// stargate_bench, so every round trip pays the same cross-thread wake-up.
//
//   pooled:   Host::connect() (a pool hit after the first call) + one a2a stream per call: what
//             StarGateNode::call() does.
//   per call: Host::connect() dials (TCP connect + multistream + Noise XX + Yamux; identify runs
//             on both sides as on any new connection), one a2a stream, then the connection is
//             closed (GoAway) and its close awaited before the next call.
//
// Rounds alternate the two modes so that load drift hits both alike. Prints a Markdown section.
//
// Usage: stargate_pool_bench [--quick]
#include "agent/a2a_io.hpp"
#include "bench_stats.hpp"
#include "p2p/host/standard_protocols.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_future.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace {

using namespace stargate;
using namespace stargate::bench;
namespace asio = boost::asio;

struct Round {
  double calls_per_second = 0;
  Latency latency;
};

p2p::HostConfig bench_config() {
  p2p::HostConfig config;
  // Closed connections are released as the callee sees them close: let a few overlap.
  config.limits.max_connections_per_peer = 64;
  return config;
}

p2p::awaitable<Round> run_round(p2p::Host& caller, Multiaddr callee, bool pooled, int calls) {
  const std::string request =
      R"({"jsonrpc":"2.0","method":"echo","params":{"d":"0123456789abcdef0123"},"id":"r1"})";  // 64 B + framing
  Round round;
  auto start = BenchClock::now();
  for (int i = 0; i < calls; ++i) {
    auto t0 = BenchClock::now();
    auto connection = co_await caller.connect(callee);
    auto response = co_await agent::a2a_round_trip(caller, connection, request);
    if (response.size() != request.size()) throw std::runtime_error("unexpected response");
    if (!pooled) {
      connection->close();
      co_await connection->wait_closed();
    }
    round.latency.us.push_back(micros(BenchClock::now() - t0));
  }
  round.calls_per_second = calls / std::chrono::duration<double>(BenchClock::now() - start).count();
  co_return round;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int rounds = quick ? 2 : 5;
  const int pooled_calls = quick ? 500 : 3000;
  const int fresh_calls = quick ? 50 : 300;

  asio::io_context callee_io;
  auto work = asio::make_work_guard(callee_io);
  p2p::Host callee(callee_io.get_executor(), crypto::Ed25519PrivateKey::generate(), bench_config());
  auto callee_identify = p2p::enable_standard_protocols(callee);
  agent::enable_a2a(callee, [](std::string request, p2p::ConnectionInfo) -> p2p::awaitable<std::string> {
    co_return request;  // the same bytes back: the handler's own cost is not what is measured
  });
  auto bound = callee.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
  auto target = bound.encapsulate(Multiaddr::parse("/p2p/" + callee.peer_id().to_string()).value());
  std::thread callee_thread([&] { callee_io.run(); });

  asio::io_context caller_io;
  p2p::Host caller(caller_io.get_executor(), crypto::Ed25519PrivateKey::generate(), bench_config());
  auto caller_identify = p2p::enable_standard_protocols(caller);

  std::vector<double> pooled_rate, fresh_rate;
  Latency pooled_latency, fresh_latency;
  p2p::pool::PoolStats stats;
  auto done = asio::co_spawn(caller_io, [&]() -> p2p::awaitable<void> {
    co_await run_round(caller, target, true, 100);  // warm-up
    co_await run_round(caller, target, false, 10);
    for (int r = 0; r < rounds; ++r) {
      // The pooled round reuses one connection: open it first, outside the timing.
      co_await caller.connect(target);
      auto pooled = co_await run_round(caller, target, true, pooled_calls);
      for (auto& c : caller.connections()) c->close();
      auto fresh = co_await run_round(caller, target, false, fresh_calls);
      pooled_rate.push_back(pooled.calls_per_second);
      fresh_rate.push_back(fresh.calls_per_second);
      pooled_latency.us.insert(pooled_latency.us.end(), pooled.latency.us.begin(), pooled.latency.us.end());
      fresh_latency.us.insert(fresh_latency.us.end(), fresh.latency.us.begin(), fresh.latency.us.end());
    }
    stats = caller.pool_stats();
    caller.close();
  }, asio::use_future);
  caller_io.run();
  std::string failure;
  try {
    done.get();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  callee.close();
  work.reset();
  asio::post(callee_io, [&] { callee_io.stop(); });
  callee_thread.join();
  if (!failure.empty()) {
    std::fprintf(stderr, "benchmark failed: %s\n", failure.c_str());
    return 1;
  }

  const double rate_ratio = median_of(pooled_rate) / median_of(fresh_rate);
  const double latency_ratio = fresh_latency.median() / pooled_latency.median();
  std::printf("## Connection pool: a2a calls, pooled connection vs new connection per call\n\n");
  std::printf("%d rounds alternating the modes; %d pooled and %d per-connection calls a round, one at a time; "
              "64-byte JSON-RPC request echoed back over /stargate/a2a/1.0.0.\n\n",
              rounds, pooled_calls, fresh_calls);
  std::printf("| mode | calls/s (median of rounds) | median latency | p99 latency |\n|---|---|---|---|\n");
  std::printf("| pooled connection | %.0f | %.1f µs | %.1f µs |\n", median_of(pooled_rate), pooled_latency.median(),
              pooled_latency.p99());
  std::printf("| new connection per call | %.0f | %.1f µs | %.1f µs |\n", median_of(fresh_rate), fresh_latency.median(),
              fresh_latency.p99());
  std::printf("\nPooling: %.1f× the calls per second, %.1f× lower median latency (reference claim: 10× less "
              "overhead). Caller's pool: %llu hits, %llu misses.\n",
              rate_ratio, latency_ratio, static_cast<unsigned long long>(stats.hits),
              static_cast<unsigned long long>(stats.misses));
  return 0;
}
