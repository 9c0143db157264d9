// stargate_stream_bench: streamed results (docs/protocol.md, "Streamed results") over each tier of
// the cascade, side by side in one run with Server-Sent Events from Node's `http` module (the way
// A2A streams results today).
//
// Nodes: bench_nodes.hpp's TierNodes (a relay, a callee and a caller, each on an io_context and
// thread of its own; a local nats-server). The callee serves
//   "echo"     (unary): returns its params;
//   "produce"  (streamed, a C++ handler): params {"n": N, "size": S}; sends N partials
//              {"i": i, "d": "<S letters>"} with ResultStream::send, then returns {"sent": N}.
// The caller forces the tier with CallOptions::via. Per tier, in each round:
//   - time to first partial: call_stream("produce", {"n": 1, "size": 64}), timed from the call to
//     the first next() returning the partial, alternating with a unary call("echo", {"d": "<64
//     letters>"}) on the same tier, timed from the call to its result; one call at a time;
//   - partials per second: one stream of N partials of 64 B, then of 64 KiB (S is the length of
//     "d"; N calibrated once per tier and size so that a stream lasts about --seconds), timed from
//     call_stream() to result(); the reader takes each partial as it comes.
// Then, in the same round, `node bench/sse_bench.mjs` (a server process and a client process on
// loopback, see the script) measures the same three things over HTTP: a unary JSON POST, the time
// to the first event of a text/event-stream response, events per second at 64 B and 64 KiB. Its
// JSON result line is read here. Rounds interleave everything so that load drift hits all alike;
// the table gives medians over rounds (latencies: over every call of every round).
//
// A stream that has not ended 5 s after it began is counted as stalled (its deadline cancels it),
// one that fails with another CallError as failed; both are shown in the table and left out of the
// rates, and the run goes on (at this commit relayed streams stall now and then, and NATS streams
// of more than ~8,000 small partials lose frames: docs/benchmarks.md, "Streamed results").
//
// Usage: stargate_stream_bench [--quick] [--rounds N] [--seconds S] [--no-sse] [--sse-script PATH] [--log SPEC]
//                              [--profile=TIER-SIZE]
//   --log: a log level spec as `stargate --log-level` takes (e.g. "warn,a2a=debug").
//   --profile=direct-64 (relay, nats; 64, 65536): only streams of that kind, back to back for 10 s
//            after calibration, and their rate; to run under `perf record`.
#include "bench_nodes.hpp"
#include "base/log.hpp"
#include "bench_stats.hpp"
#include "nats_server.hpp"
#include "stargate/node.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef STARGATE_SSE_SCRIPT
#define STARGATE_SSE_SCRIPT "bench/sse_bench.mjs"
#endif

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace stargate;
using namespace stargate::bench;

constexpr std::array<std::size_t, 2> partial_sizes{64, 64 * 1024};
constexpr std::array<Via, 3> stream_tiers{Via::direct, Via::relay, Via::nats};
// Aims: the first partial within 1.2× a unary call (median), 64 B partials/s direct ≥ 3× SSE.
constexpr double first_partial_aim = 1.2;
constexpr double sse_rate_aim = 3.0;
// JSON-RPC "timeout": the stream did not end by its deadline (CallOptions::timeout).
constexpr int timeout_code = -32000;

struct Settings {
  int rounds = 5;
  int warmup = 50;
  int first_calls = 300;  // per tier and round, and as many unary calls
  double seconds = 1.0;   // per rate measurement
  // A stream that has not ended this long after it began is stalled: it is cancelled (by its
  // deadline), counted as such and left out of the rates.
  std::chrono::milliseconds stall_after{5000};
  bool sse = true;
  std::string sse_script = STARGATE_SSE_SCRIPT;
  // --profile=TIER-SIZE (direct|relay|nats, 64|65536): streams of that kind back to back for
  // `profile_seconds`, nothing else timed (to run under perf).
  std::optional<std::pair<Via, std::size_t>> profile;
  double profile_seconds = 10;
};

// Rates of one tier (or SSE) at one partial size: one value per round.
struct Rate {
  std::int64_t partials = 0;  // per stream
  std::vector<double> per_second;
  // Timed streams that did not end within Settings::stall_after (cancelled by their deadline) or
  // that failed otherwise (the call's CallError); calibration probes that did either.
  int stalled = 0, failed = 0, calibration_lost = 0;
  // The first calibration probe that ended: its length (5,000 or 200 partials) and rate.
  std::int64_t probe_partials = 0;
  double probe_per_second = 0;
};

enum class Ending { ended, stalled, failed };

struct TierResults {
  Latency unary, first;
  std::array<Rate, partial_sizes.size()> rates;
};

// Sends params.n partials {"i": i, "d": "<params.size letters>"}, then answers {"sent": n}.
StreamHandler producer() {
  return [](const json::value& params, const CallContext&, ResultStream& partials) -> asio::awaitable<json::value> {
    const auto n = params.at("n").to_number<std::int64_t>();
    const auto size = params.at("size").to_number<std::size_t>();
    const json::string d(payload(size));
    for (std::int64_t i = 0; i < n; ++i) {
      // Named first: g++ 12 miscompiles an initializer list inside a co_await expression.
      json::value partial = json::object{{"i", i}, {"d", d}};
      co_await partials.send(std::move(partial));
    }
    json::value result = json::object{{"sent", n}};
    co_return result;
  };
}

void serve_stream_bench(StarGateNode& callee) {
  callee.handle("echo", echo_params());
  callee.handle_stream("produce", producer());
}

struct Bench : TierNodes {
  Bench(const std::string& nats_url, std::filesystem::path base)
      : TierNodes(nats_url, std::move(base), "stream", serve_stream_bench) {}

  // On the caller's io_context: `warmup` + `count` pairs of one unary call and one streamed call of
  // a single partial, one at a time; the last `count` are timed.
  asio::awaitable<void> first_partials(Via via, int warmup, int count, TierResults& out) {
    const std::string data = payload(partial_sizes[0]);
    json::value echo_params = json::object{{"d", data}};
    json::value one = json::object{{"n", 1}, {"size", partial_sizes[0]}};
    CallOptions options;
    options.via = via;
    for (int i = 0; i < warmup + count; ++i) {
      const auto t0 = BenchClock::now();
      auto echoed = co_await caller->call(callee_id, "echo", echo_params, options);
      const auto t1 = BenchClock::now();
      if (echoed.at("d").as_string().size() != data.size()) throw std::runtime_error("unexpected echo result");

      const auto t2 = BenchClock::now();
      auto stream = co_await caller->call_stream(callee_id, "produce", one, options);
      auto partial = co_await stream.next();
      const auto t3 = BenchClock::now();
      if (!partial || partial->at("d").as_string().size() != data.size()) throw std::runtime_error("no first partial");
      auto end = co_await stream.next();
      if (end) throw std::runtime_error("a second partial");
      auto result = co_await stream.result();
      if (result.at("sent").to_number<std::int64_t>() != 1) throw std::runtime_error("unexpected final result");
      if (i < warmup) continue;
      out.unary.us.push_back(micros(t1 - t0));
      out.first.us.push_back(micros(t3 - t2));
    }
  }

  // On the caller's io_context: one stream of `n` partials of `size`; how it ended and, when it
  // did, its duration in seconds. It stalled when it had not ended by `deadline` (which cancels it).
  asio::awaitable<Ending> stream_once(Via via, std::size_t size, std::int64_t n, std::chrono::milliseconds deadline,
                                      double& seconds) {
    json::value params = json::object{{"n", n}, {"size", size}};
    CallOptions options;
    options.via = via;
    options.timeout = deadline;
    const auto t0 = BenchClock::now();
    std::int64_t got = 0;
    try {
      auto stream = co_await caller->call_stream(callee_id, "produce", params, options);
      for (;;) {
        auto partial = co_await stream.next();
        if (!partial) break;
        if (got == 0 || got == n - 1) {
          const auto& obj = partial->as_object();
          if (obj.at("i").to_number<std::int64_t>() != got || obj.at("d").as_string().size() != size)
            throw std::runtime_error("unexpected partial");
        }
        ++got;
      }
      auto result = co_await stream.result();
      if (got != n || result.at("sent").to_number<std::int64_t>() != n)
        throw std::runtime_error("got " + std::to_string(got) + " of " + std::to_string(n) + " partials");
    } catch (const CallError& e) {
      const bool stalled = e.code() == timeout_code;
      std::fprintf(stderr, "%s, %s: a stream of %lld partials %s after %lld partials: %s\n", tier_name(via),
                   size < 1024 ? "64 B" : "64 KiB", static_cast<long long>(n), stalled ? "stalled" : "failed",
                   static_cast<long long>(got), e.what());
      co_return stalled ? Ending::stalled : Ending::failed;
    }
    seconds = std::chrono::duration<double>(BenchClock::now() - t0).count();
    co_return Ending::ended;
  }

  Ending time_stream(Via via, std::size_t size, std::int64_t n, std::chrono::milliseconds deadline, double& seconds) {
    return asio::co_spawn(caller_loop.io, stream_once(via, size, n, deadline, seconds), asio::use_future).get();
  }
  void measure_first(Via via, int warmup, int count, TierResults& out) {
    asio::co_spawn(caller_loop.io, first_partials(via, warmup, count, out), asio::use_future).get();
  }

  // The number of partials that takes about `seconds` (two probes that end: a fixed one, then one
  // sized to about a quarter of `seconds`); the probes warm the tier's path up too. Probes that
  // stall are counted in `rate` and tried again (at most four in all).
  void calibrate(Via via, std::size_t size, const Settings& settings, Rate& rate) {
    const std::int64_t probe = size < 1024 ? 5000 : 200;
    std::int64_t n = probe;
    double per_second = 0;
    for (int ended = 0, tries = 0; ended < 2 && tries < 4; ++tries) {
      double seconds = 0;
      if (time_stream(via, size, n, settings.stall_after, seconds) != Ending::ended) {
        ++rate.calibration_lost;
        continue;
      }
      ++ended;
      per_second = static_cast<double>(n) / seconds;
      if (rate.probe_partials == 0) {
        rate.probe_partials = n;
        rate.probe_per_second = per_second;
      }
      std::fprintf(stderr, "%s, %s: probe of %lld partials: %.0f partials/s\n", tier_name(via), size < 1024 ? "64 B" : "64 KiB",
                   static_cast<long long>(n), per_second);
      n = std::max(probe, static_cast<std::int64_t>(per_second * settings.seconds / 4));
    }
    rate.partials = std::max(probe, static_cast<std::int64_t>(per_second * settings.seconds));
  }
};

// ---- the Node.js side --------------------------------------------------------------------------

struct SseResults {
  std::string node_version;
  Latency unary, first;
  std::array<Rate, partial_sizes.size()> rates;
};

// Runs `node <script> ...` once and adds its figures to `out`.
void run_sse(const Settings& settings, SseResults& out) {
  const std::string command = "node '" + settings.sse_script + "' --seconds " + std::to_string(settings.seconds) +
                              " --ttfp " + std::to_string(settings.first_calls) + " --warmup " +
                              std::to_string(settings.warmup) + " --small " + std::to_string(partial_sizes[0]) +
                              " --large " + std::to_string(partial_sizes[1]);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string output;
  std::array<char, 65536> buffer;
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error(command + " failed (status " + std::to_string(status) + ")");
  // The last line that is a JSON object.
  std::string line;
  for (std::size_t end = output.size(); end > 0;) {
    const std::size_t start = output.rfind('\n', end - 1);
    const std::size_t from = start == std::string::npos ? 0 : start + 1;
    if (from < end && output[from] == '{') {
      line = output.substr(from, end - from);
      break;
    }
    if (start == std::string::npos) break;
    end = start;
  }
  if (line.empty()) throw std::runtime_error(command + " printed no JSON result");
  const json::value result = json::parse(line);
  out.node_version = std::string(result.at("node").as_string());
  for (const auto& v : result.at("unary_us").as_array()) out.unary.us.push_back(v.to_number<double>());
  for (const auto& v : result.at("first_us").as_array()) out.first.us.push_back(v.to_number<double>());
  const auto& rates = result.at("rates").as_array();
  for (std::size_t s = 0; s < partial_sizes.size(); ++s) {
    const auto& rate = rates.at(s).as_object();
    if (rate.at("size").to_number<std::size_t>() != partial_sizes[s]) throw std::runtime_error("SSE sizes differ");
    out.rates[s].partials = rate.at("events").to_number<std::int64_t>();
    for (const auto& seconds : rate.at("seconds").as_array())
      out.rates[s].per_second.push_back(static_cast<double>(out.rates[s].partials) / seconds.to_number<double>());
  }
}

// ---- the report -----------------------------------------------------------------------------

std::string size_name(std::size_t size) { return size < 1024 ? std::to_string(size) + " B" : std::to_string(size / 1024) + " KiB"; }

double mb_per_second(double per_second, std::size_t size) { return per_second * static_cast<double>(size) / 1e6; }

std::string bold_if_any(int count) { return count > 0 ? "**" + std::to_string(count) + "**" : "0"; }

std::string spread(const std::vector<double>& values) {
  if (values.empty()) return "–";
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  char text[64];
  std::snprintf(text, sizeof text, "%.0f–%.0f", *lo, *hi);
  return text;
}

void print_report(const Settings& settings, const std::array<TierResults, stream_tiers.size()>& tiers,
                  const std::optional<SseResults>& sse) {
  std::printf("%d rounds; in each, per tier, %d unary calls alternating with %d streamed calls of one 64 B partial, "
              "then one stream of 64 B partials and one of 64 KiB partials (each ~%.1f s), then the SSE script "
              "(the same over HTTP).\n\n",
              settings.rounds, settings.first_calls, settings.first_calls, settings.seconds);
  std::printf("| path | calls | unary call p50 | unary p90 | first partial p50 | first partial p90 | first / unary (p50) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
    const auto& r = tiers[t];
    std::printf("| %s | %zu | %.1f µs | %.1f µs | %.1f µs | %.1f µs | %.2f× |\n", tier_name(stream_tiers[t]),
                r.first.us.size(), r.unary.median(), r.unary.percentile(0.9), r.first.median(),
                r.first.percentile(0.9), r.first.median() / r.unary.median());
  }
  if (sse) {
    std::printf("| SSE, Node.js `http` (%s), keep-alive; unary = JSON POST | %zu | %.1f µs | %.1f µs | %.1f µs | %.1f µs | "
                "%.2f× |\n",
                sse->node_version.c_str(), sse->first.us.size(), sse->unary.median(), sse->unary.percentile(0.9),
                sse->first.median(), sse->first.percentile(0.9), sse->first.median() / sse->unary.median());
  }
  std::printf("\n| path | partial | partials per stream | streams ended / stalled / failed | partials/s (median of "
              "rounds) | MB/s | partials/s, min–max | vs SSE |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  int stalled = 0, failed = 0, calibration_lost = 0;
  for (std::size_t s = 0; s < partial_sizes.size(); ++s) {
    const double sse_rate = sse ? median_of(sse->rates[s].per_second) : 0;
    for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
      const auto& rate = tiers[t].rates[s];
      const double median = median_of(rate.per_second);
      char per_second[32] = "–", mb[32] = "–", versus[32] = "–";
      if (!rate.per_second.empty()) {
        std::snprintf(per_second, sizeof per_second, "%.0f", median);
        std::snprintf(mb, sizeof mb, "%.1f", mb_per_second(median, partial_sizes[s]));
        if (sse_rate > 0) std::snprintf(versus, sizeof versus, "%.2f×", median / sse_rate);
      }
      std::printf("| %s | %s | %lld | %zu / %s / %s | %s | %s | %s | %s |\n", tier_name(stream_tiers[t]),
                  size_name(partial_sizes[s]).c_str(), static_cast<long long>(rate.partials), rate.per_second.size(),
                  bold_if_any(rate.stalled).c_str(), bold_if_any(rate.failed).c_str(), per_second, mb,
                  spread(rate.per_second).c_str(), versus);
      stalled += rate.stalled;
      failed += rate.failed;
      calibration_lost += rate.calibration_lost;
    }
    if (sse) {
      std::printf("| SSE, Node.js `http` | %s | %lld | %zu / 0 / 0 | %.0f | %.1f | %s | 1.00× |\n",
                  size_name(partial_sizes[s]).c_str(), static_cast<long long>(sse->rates[s].partials),
                  sse->rates[s].per_second.size(), sse_rate, mb_per_second(sse_rate, partial_sizes[s]),
                  spread(sse->rates[s].per_second).c_str());
    }
  }
  if (stalled + failed + calibration_lost > 0) {
    std::printf("\n**Streams that did not end**: %d timed streams stalled (had not ended %lld ms after they "
                "began, when their deadline cancelled them), %d failed with an error, and %d calibration probes did one or "
                "the other. The rates are over the streams that ended. stderr has, for each, how many partials the "
                "reader had received and the error.\n",
                stalled, static_cast<long long>(settings.stall_after.count()), failed, calibration_lost);
  }
  std::printf("\nFirst calibration probe per tier, one stream each before the rounds (5,000 × 64 B; 200 × 64 KiB), "
              "partials/s:");
  for (std::size_t s = 0; s < partial_sizes.size(); ++s) {
    std::printf(" %s:", size_name(partial_sizes[s]).c_str());
    for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
      const auto& rate = tiers[t].rates[s];
      std::printf("%s %s ", t == 0 ? "" : ",", tier_name(stream_tiers[t]));
      if (rate.probe_partials > 0)
        std::printf("%.0f", rate.probe_per_second);
      else
        std::printf("–");
    }
    std::printf("%s", s + 1 < partial_sizes.size() ? ";" : ".\n");
  }
  std::printf("\nMB = 10^6 bytes of partial payload (the string `d`); a 64 B partial is a %zu-byte frame "
              "(`{\"seq\":N,\"partial\":{\"i\":i,\"d\":\"…\"}}`), an SSE event `data: {\"jsonrpc\":\"2.0\",\"id\":k,"
              "\"result\":{\"i\":i,\"d\":\"…\"}}` plus a blank line.\n",
              std::string(R"({"seq":12345,"partial":{"i":12344,"d":""}})").size() + partial_sizes[0]);

  std::printf("\n| aim | this run | verdict |\n|---|---|---|\n");
  for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
    const double ratio = tiers[t].first.median() / tiers[t].unary.median();
    std::printf("| first partial within %.1f× a unary call, %s (medians) | %.2f× | %s |\n", first_partial_aim,
                tier_name(stream_tiers[t]), ratio, ratio <= first_partial_aim ? "met" : "**not met**");
  }
  if (sse) {
    const double ratio = median_of(tiers[0].rates[0].per_second) / median_of(sse->rates[0].per_second);
    std::printf("| 64 B partials/s direct ≥ %.0f× the SSE stream's (medians) | %.2f× | %s |\n", sse_rate_aim, ratio,
                ratio >= sse_rate_aim ? "met" : "**not met**");
  } else {
    std::printf("| 64 B partials/s direct ≥ %.0f× the SSE stream's | not run (--no-sse) | – |\n", sse_rate_aim);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--quick") == 0) {
      settings.rounds = 2;
      settings.warmup = 20;
      settings.first_calls = 100;
      settings.seconds = 0.4;
    } else if (std::strcmp(argv[i], "--rounds") == 0 && has_value) {
      settings.rounds = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--seconds") == 0 && has_value) {
      settings.seconds = std::max(0.05, std::atof(argv[++i]));
    } else if (std::strcmp(argv[i], "--log") == 0 && has_value) {
      stargate::log::configure(argv[++i]);
    } else if (std::strncmp(argv[i], "--profile=", 10) == 0) {
      const std::string what = argv[i] + 10;
      const auto dash = what.find('-');
      const std::string tier = what.substr(0, dash);
      const std::size_t size = dash == std::string::npos ? 0 : std::strtoul(what.c_str() + dash + 1, nullptr, 10);
      const Via via = tier == "direct" ? Via::direct : tier == "relay" ? Via::relay : tier == "nats" ? Via::nats : Via::any;
      if (via == Via::any || std::find(partial_sizes.begin(), partial_sizes.end(), size) == partial_sizes.end()) {
        std::fprintf(stderr, "--profile=TIER-SIZE: TIER direct, relay or nats; SIZE 64 or 65536\n");
        return 2;
      }
      settings.profile.emplace(via, size);
    } else if (std::strcmp(argv[i], "--no-sse") == 0) {
      settings.sse = false;
    } else if (std::strcmp(argv[i], "--sse-script") == 0 && has_value) {
      settings.sse_script = argv[++i];
    } else {
      std::fprintf(stderr, "usage: stargate_stream_bench [--quick] [--rounds N] [--seconds S] [--no-sse] [--sse-script PATH] [--log SPEC] "
                   "[--profile=TIER-SIZE]\n");
      return 2;
    }
  }
  try {
    auto server = stargate::testing::NatsServer::start();
    const auto base = scratch_dir("sg-stream-bench");

    std::array<TierResults, stream_tiers.size()> tiers;
    std::optional<SseResults> sse;
    if (settings.sse) sse.emplace();
    NodeStatus before, after, callee_after;
    if (settings.profile) {
      Bench bench(server.url(), base);
      for (const Via via : stream_tiers) {  // the order TierNodes asks for
        TierResults ignored;
        bench.measure_first(via, settings.warmup, 0, ignored);
        if (via == settings.profile->first) break;
      }
      const auto [via, size] = *settings.profile;
      Rate rate;
      bench.calibrate(via, size, settings, rate);
      std::int64_t partials = 0;
      double seconds = 0;
      for (int lost = 0; seconds < settings.profile_seconds && lost < 3;) {
        double one = 0;
        if (bench.time_stream(via, size, rate.partials, settings.stall_after, one) != Ending::ended) {
          ++lost;
          continue;
        }
        seconds += one;
        partials += rate.partials;
      }
      std::printf("%s, %s partials: %.0f partials/s over %.1f s\n", tier_name(via), size_name(size).c_str(),
                  static_cast<double>(partials) / seconds, seconds);
    }
    if (settings.profile) {
      std::error_code ec;
      std::filesystem::remove_all(base, ec);
      return 0;
    }
    {
      Bench bench(server.url(), base);
      // Warm-up in the order TierNodes asks for; the calibration streams warm each path up too.
      for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
        TierResults ignored;
        bench.measure_first(stream_tiers[t], settings.warmup, 0, ignored);
      }
      for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
        for (std::size_t s = 0; s < partial_sizes.size(); ++s) {
          bench.calibrate(stream_tiers[t], partial_sizes[s], settings, tiers[t].rates[s]);
          std::fprintf(stderr, "%s, %s: %lld partials per stream\n", tier_name(stream_tiers[t]),
                       size_name(partial_sizes[s]).c_str(), static_cast<long long>(tiers[t].rates[s].partials));
        }
      }
      before = bench.caller_status();
      for (int round = 0; round < settings.rounds; ++round) {
        std::fprintf(stderr, "round %d/%d\n", round + 1, settings.rounds);
        for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
          bench.measure_first(stream_tiers[t], 0, settings.first_calls, tiers[t]);
          for (std::size_t s = 0; s < partial_sizes.size(); ++s) {
            auto& rate = tiers[t].rates[s];
            double seconds = 0;
            switch (bench.time_stream(stream_tiers[t], partial_sizes[s], rate.partials, settings.stall_after, seconds)) {
              case Ending::ended: rate.per_second.push_back(static_cast<double>(rate.partials) / seconds); break;
              case Ending::stalled: ++rate.stalled; break;
              case Ending::failed: ++rate.failed; break;
            }
          }
        }
        if (sse) run_sse(settings, *sse);
      }
      // A streamed call is counted by tier just after its final result reaches the reader.
      std::this_thread::sleep_for(200ms);
      after = bench.caller_status();
      callee_after = bench.callee_status();
    }
    std::error_code ec;
    std::filesystem::remove_all(base, ec);

    print_report(settings, tiers, sse);
    // Each round and tier: first_calls unary calls, first_calls + 2 streamed calls; stalled streams
    // fail (their deadline) instead.
    const auto per_tier = static_cast<std::uint64_t>(settings.rounds) * (2 * settings.first_calls + 2);
    std::array<std::uint64_t, stream_tiers.size()> stalled{};
    std::uint64_t stalled_all = 0;
    for (std::size_t t = 0; t < stream_tiers.size(); ++t) {
      for (const auto& rate : tiers[t].rates) stalled[t] += static_cast<std::uint64_t>(rate.stalled + rate.failed);
      stalled_all += stalled[t];
    }
    const auto failed = after.calls_failed - before.calls_failed;
    // (A stream that failed may still be counted ok by the node: the path it failed on can resume.)
    const std::array<std::uint64_t, stream_tiers.size()> ok{after.calls_ok_direct - before.calls_ok_direct,
                                                            after.calls_ok_relayed - before.calls_ok_relayed,
                                                            after.calls_ok_nats - before.calls_ok_nats};
    bool tiers_ok = failed <= stalled_all;
    for (std::size_t t = 0; t < stream_tiers.size(); ++t) tiers_ok = tiers_ok && ok[t] <= per_tier && ok[t] + stalled[t] >= per_tier;
    std::printf("\nCaller's counters over the timed calls: calls_ok_direct +%llu, calls_ok_relayed +%llu, calls_ok_nats "
                "+%llu, calls_failed +%llu (streams stalled or failed: %llu); callee's streams_resumed %llu (%s).\n",
                static_cast<unsigned long long>(ok[0]), static_cast<unsigned long long>(ok[1]),
                static_cast<unsigned long long>(ok[2]),
                static_cast<unsigned long long>(failed), static_cast<unsigned long long>(stalled_all),
                static_cast<unsigned long long>(callee_after.streams_resumed),
                tiers_ok ? "every call on the tier asked for" : "**tiers do not add up**");
    if (!tiers_ok) return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stargate_stream_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
