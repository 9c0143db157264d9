// stargate_tier_bench: StarGateNode calls over each tier of the cascade side by side, in one
// process and one run: direct libp2p, libp2p through a Circuit Relay v2 relay, and NATS.
//
//   relay:   a p2p::Host with the standard protocols and relay::RelayService, as `stargate relay
//            start` builds one, with the private relay's limits (no per-circuit byte or duration
//            limit), listening on 127.0.0.1.
//   NATS:    one local nats-server (the integration tests' NatsServer helper).
//   callee:  a StarGateNode listening on 127.0.0.1, connected to the broker, holding a
//            reservation on the relay (so it announces a direct and a /p2p-circuit address);
//            serves "echo" (returns its params).
//   caller:  a StarGateNode on the broker, not listening; it discovers the callee and calls
//            call(callee agent ID, "echo", {"d": "<N letters>"}, {.via = direct|relay|nats}).
//
// The relay, the callee and the caller each run on an io_context of their own, in a thread of
// their own. Every call is one JSON-RPC 2.0 request and its response: over libp2p a new Yamux
// stream on the pooled connection of that tier (/stargate/a2a/1.0.0), over NATS a message sealed
// with Noise IK (session set up in the warm-up). The direct connection is opened first, so the
// callee does not hole-punch the relayed one away (DCUtR stops when a direct connection exists).
//
// One call at a time, timed on the caller with steady_clock; rounds interleave the tiers and
// sizes so that load drift hits them alike. Prints a Markdown section to stdout. The three nodes
// are bench_nodes.hpp's TierNodes (shared with stream_bench.cpp).
//
// Usage: stargate_tier_bench [--quick]
#include "bench_nodes.hpp"
#include "bench_stats.hpp"
#include "nats_server.hpp"
#include "stargate/node.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace stargate;
using namespace stargate::bench;

constexpr std::size_t small_size = 100;
constexpr std::size_t large_size = 64 * 1024;
constexpr std::array<Via, 3> tiers{Via::direct, Via::relay, Via::nats};

struct Counts {
  int rounds = 3;
  int warmup = 100;
  int small_calls = 1500;  // per tier and round
  int large_calls = 200;
};

// One tier at one size: latency samples and a rate per round.
struct Cell {
  Latency latency;
  std::vector<double> per_second;
};

struct Bench : TierNodes {
  Bench(const std::string& nats_url, std::filesystem::path base)
      : TierNodes(nats_url, std::move(base), "tier", [](StarGateNode& callee) { callee.handle("echo", echo_params()); }) {}

  // Runs on the caller's io_context: `count` calls one at a time (after `warmup` untimed ones).
  asio::awaitable<void> run(Via via, std::string data, int warmup, int count, Cell& out) {
    json::value params = json::object{{"d", data}};
    CallOptions options;
    options.via = via;
    auto once = [&]() -> asio::awaitable<void> {
      auto result = co_await caller->call(callee_id, "echo", params, options);
      const auto* d = result.is_object() ? result.as_object().if_contains("d") : nullptr;
      if (d == nullptr || !d->is_string() || d->as_string().size() != data.size())
        throw std::runtime_error("unexpected echo result");
    };
    for (int i = 0; i < warmup; ++i) co_await once();
    auto start = BenchClock::now();
    for (int i = 0; i < count; ++i) {
      auto t0 = BenchClock::now();
      co_await once();
      out.latency.us.push_back(micros(BenchClock::now() - t0));
    }
    out.per_second.push_back(count / std::chrono::duration<double>(BenchClock::now() - start).count());
  }

  void measure(Via via, const std::string& data, int warmup, int count, Cell& out) {
    asio::co_spawn(caller_loop.io, run(via, data, warmup, count, out), asio::use_future).get();
  }
};

}  // namespace

int main(int argc, char** argv) {
  Counts counts;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      counts.rounds = 2;
      counts.warmup = 30;
      counts.small_calls = 300;
      counts.large_calls = 50;
    } else {
      std::fprintf(stderr, "usage: stargate_tier_bench [--quick]\n");
      return 2;
    }
  }
  try {
    auto server = stargate::testing::NatsServer::start();
    const auto base = scratch_dir("sg-tier-bench");

    const std::string small = payload(small_size), large = payload(large_size);
    // cells[tier][0 small, 1 large]
    std::array<std::array<Cell, 2>, tiers.size()> cells;
    NodeStatus before, after;
    std::uint64_t relayed_before = 0, relayed_after = 0;
    {
      Bench bench(server.url(), base);
      // Warm-up in this order: the direct connection first (see the top of the file), then a
      // circuit through the relay, then the Noise IK session over NATS.
      for (std::size_t t = 0; t < tiers.size(); ++t) {
        Cell ignored;
        bench.measure(tiers[t], small, counts.warmup, 0, ignored);
        bench.measure(tiers[t], large, counts.warmup / 3, 0, ignored);
      }
      before = bench.caller_status();
      relayed_before = bench.bytes_relayed();
      for (int round = 0; round < counts.rounds; ++round) {
        std::fprintf(stderr, "round %d/%d\n", round + 1, counts.rounds);
        for (std::size_t t = 0; t < tiers.size(); ++t) {
          bench.measure(tiers[t], small, 0, counts.small_calls, cells[t][0]);
          bench.measure(tiers[t], large, 0, counts.large_calls, cells[t][1]);
        }
      }
      after = bench.caller_status();
      relayed_after = bench.bytes_relayed();
    }
    std::error_code ec;
    std::filesystem::remove_all(base, ec);

    const auto timed_per_tier = static_cast<std::uint64_t>(counts.rounds) * (counts.small_calls + counts.large_calls);
    const bool tiers_ok = after.calls_ok_direct - before.calls_ok_direct == timed_per_tier &&
                          after.calls_ok_relayed - before.calls_ok_relayed == timed_per_tier &&
                          after.calls_ok_nats - before.calls_ok_nats == timed_per_tier && after.calls_failed == 0;
    std::printf("%d rounds; in each, per tier, %d calls with ~100 B params then %d with 64 KiB params, one at a "
                "time, echoed back.\n\n",
                counts.rounds, counts.small_calls, counts.large_calls);
    std::printf("| tier | payload | calls | calls/s (median of rounds) | p50 latency | p99 latency | p50 vs direct |\n");
    std::printf("|---|---|---:|---:|---:|---:|---:|\n");
    for (std::size_t size = 0; size < 2; ++size) {
      for (std::size_t t = 0; t < tiers.size(); ++t) {
        const auto& c = cells[t][size];
        std::printf("| %s | %s | %zu | %.0f | %.1f µs | %.1f µs | %.2f× |\n", tier_name(tiers[t]),
                    size == 0 ? "100 B" : "64 KiB", c.latency.us.size(), median_of(c.per_second), c.latency.median(),
                    c.latency.p99(), c.latency.median() / cells[0][size].latency.median());
      }
    }
    std::printf("\nCaller's counters over the timed calls: calls_ok_direct +%llu, calls_ok_relayed +%llu, "
                "calls_ok_nats +%llu, calls_failed %llu (%s); libp2p bytes out +%llu, in +%llu; NATS bytes out +%llu, "
                "in +%llu; the relay carried %llu bytes.\n",
                static_cast<unsigned long long>(after.calls_ok_direct - before.calls_ok_direct),
                static_cast<unsigned long long>(after.calls_ok_relayed - before.calls_ok_relayed),
                static_cast<unsigned long long>(after.calls_ok_nats - before.calls_ok_nats),
                static_cast<unsigned long long>(after.calls_failed),
                tiers_ok ? "every call on the tier asked for" : "**tiers do not add up**",
                static_cast<unsigned long long>(after.libp2p_bytes_out - before.libp2p_bytes_out),
                static_cast<unsigned long long>(after.libp2p_bytes_in - before.libp2p_bytes_in),
                static_cast<unsigned long long>(after.nats_bytes_out - before.nats_bytes_out),
                static_cast<unsigned long long>(after.nats_bytes_in - before.nats_bytes_in),
                static_cast<unsigned long long>(relayed_after - relayed_before));
    if (!tiers_ok) return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stargate_tier_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
