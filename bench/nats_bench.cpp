// stargate_nats_bench: raw nats.c request/reply and StarGateNode calls through the same local
// nats-server, side by side in one run.
//
//   raw:       nats.c directly. A responder connection subscribes (async subscription: nats.c's
//              delivery thread) and publishes each request's data back to its reply subject; a
//              caller connection does natsConnection_Request. Both connections use SendAsap.
//   StarGate:  two StarGateNodes, each on its own io_context run by its own thread. The callee
//              serves "echo" (returns its params); the caller does call(callee agent ID, "echo",
//              {"d": "<N bytes>"}). Every call is JSON-RPC 2.0 sealed with Noise IK (session set
//              up during the warm-up), with a reply subject per call.
//
// Phases (interleaved over several rounds so that load drift hits raw and StarGate alike):
//   latency, one caller, 64 B and 64 KiB payloads: median and p99 per call;
//   throughput, 32 concurrent callers, 64 B and 64 KiB: completed calls per second.
//     raw: 32 threads sharing the caller connection, each looping natsConnection_Request;
//     StarGate: 32 coroutines on the caller node's io_context (one node, one connection),
//     each looping call().
//
// Prints a Markdown section (tables, ratios, verdicts against the aims) to stdout.
//
// Usage: stargate_nats_bench [--quick] [--profile=PHASE]   (PHASE alone, for perf: see main())
#include "bench_nodes.hpp"
#include "bench_stats.hpp"
#include "nats_server.hpp"
#include "stargate/node.hpp"

#include <nats/nats.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace stargate::bench;

constexpr std::size_t small_size = 64;
constexpr std::size_t large_size = 64 * 1024;
constexpr int concurrency = 32;

struct Counts {
  int rounds = 3;
  int warmup = 300;
  int latency_small = 4000;
  int latency_large = 1000;
  std::chrono::milliseconds throughput_duration{2000};
  std::string profile;  // --profile=PHASE: that phase alone (for perf)
};

double seconds(BenchClock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Rate {
  std::vector<double> per_second;  // one entry per round
  double median() const { return median_of(per_second); }
  double best() const { return per_second.empty() ? 0 : *std::max_element(per_second.begin(), per_second.end()); }
};

// ---------------------------------------------------------------- raw nats.c

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) throw std::runtime_error(std::string("nats.c ") + what + ": " + natsStatus_GetText(s));
}

natsConnection* raw_connect(const std::string& url, const char* name) {
  natsOptions* opts = nullptr;
  check(natsOptions_Create(&opts), "options");
  check(natsOptions_SetURL(opts, url.c_str()), "url");
  check(natsOptions_SetName(opts, name), "name");
  check(natsOptions_SetSendAsap(opts, true), "send asap");
  natsConnection* nc = nullptr;
  auto s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  check(s, "connect");
  return nc;
}

void raw_on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  if (const char* reply = natsMsg_GetReply(msg); reply != nullptr && *reply != '\0')
    natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

constexpr const char* raw_subject = "bench.raw.echo";

struct Raw {
  natsConnection* responder = nullptr;
  natsSubscription* subscription = nullptr;
  natsConnection* caller = nullptr;

  explicit Raw(const std::string& url) {
    responder = raw_connect(url, "raw-responder");
    check(natsConnection_Subscribe(&subscription, responder, raw_subject, raw_on_request, nullptr), "subscribe");
    check(natsSubscription_SetPendingLimits(subscription, 1 << 20, 1 << 30), "pending limits");
    check(natsConnection_Flush(responder), "flush");
    caller = raw_connect(url, "raw-caller");
  }
  ~Raw() {
    if (subscription != nullptr) {
      natsSubscription_Unsubscribe(subscription);
      natsSubscription_Destroy(subscription);
    }
    if (caller != nullptr) natsConnection_Destroy(caller);
    if (responder != nullptr) natsConnection_Destroy(responder);
  }

  void request(const std::string& data) {
    natsMsg* reply = nullptr;
    check(natsConnection_Request(&reply, caller, raw_subject, data.data(), static_cast<int>(data.size()), 10000),
          "request");
    bool ok = static_cast<std::size_t>(natsMsg_GetDataLength(reply)) == data.size();
    natsMsg_Destroy(reply);
    if (!ok) throw std::runtime_error("raw: reply of the wrong size");
  }

  void latency(const std::string& data, int warmup, int count, Latency& out) {
    for (int i = 0; i < warmup; ++i) request(data);
    for (int i = 0; i < count; ++i) {
      auto t0 = BenchClock::now();
      request(data);
      out.us.push_back(micros(BenchClock::now() - t0));
    }
  }

  double throughput(const std::string& data, std::chrono::milliseconds duration) {
    std::atomic<bool> go{false};
    std::atomic<std::uint64_t> done{0};
    std::vector<std::thread> threads;
    BenchClock::time_point start;
    BenchClock::time_point deadline;
    for (int t = 0; t < concurrency; ++t) {
      threads.emplace_back([&] {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        std::uint64_t mine = 0;
        while (BenchClock::now() < deadline) {
          request(data);
          ++mine;
        }
        done += mine;
      });
    }
    start = BenchClock::now();
    deadline = start + duration;
    go.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    return static_cast<double>(done.load()) / seconds(BenchClock::now() - start);
  }

  // The same load without 32 OS threads: 32 requests in flight from one connection, each reply
  // (delivered on one async subscription, i.e. one nats.c thread) publishes that caller's next
  // request. The raw counterpart of 32 coroutines on one io_context.
  struct Pipeline {
    const std::string* data = nullptr;
    BenchClock::time_point deadline;
    std::atomic<std::uint64_t> done{0};
    std::atomic<int> in_flight{0};
    std::atomic<bool> bad{false};
    std::promise<void> finished;
  };

  static void on_pipelined_reply(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
    auto* p = static_cast<Pipeline*>(closure);
    if (static_cast<std::size_t>(natsMsg_GetDataLength(msg)) != p->data->size()) p->bad = true;
    ++p->done;
    bool again = BenchClock::now() < p->deadline &&
                 natsConnection_PublishRequest(nc, raw_subject, natsMsg_GetSubject(msg), p->data->data(),
                                               static_cast<int>(p->data->size())) == NATS_OK;
    natsMsg_Destroy(msg);
    if (!again && --p->in_flight == 0) p->finished.set_value();
  }

  double pipelined_throughput(const std::string& data, std::chrono::milliseconds duration) {
    static int generation = 0;
    Pipeline p;
    p.data = &data;
    std::string prefix = "_BENCH_PIPE." + std::to_string(++generation) + ".";
    natsSubscription* sub = nullptr;
    check(natsConnection_Subscribe(&sub, caller, (prefix + "*").c_str(), on_pipelined_reply, &p), "subscribe");
    check(natsSubscription_SetPendingLimits(sub, 1 << 20, 1 << 30), "pending limits");
    check(natsConnection_Flush(caller), "flush");
    auto finished = p.finished.get_future();
    auto start = BenchClock::now();
    p.deadline = start + duration;
    p.in_flight = concurrency;
    for (int i = 0; i < concurrency; ++i)
      check(natsConnection_PublishRequest(caller, raw_subject, (prefix + std::to_string(i)).c_str(), data.data(),
                                          static_cast<int>(data.size())),
            "publish request");
    if (finished.wait_for(duration + 10s) != std::future_status::ready)
      throw std::runtime_error("raw pipelined: replies missing");
    double rate = static_cast<double>(p.done.load()) / seconds(BenchClock::now() - start);
    // Drain: returns once the callback has finished with `p` for good.
    check(natsSubscription_Drain(sub), "drain");
    check(natsSubscription_WaitForDrainCompletion(sub, 10000), "drain completion");
    natsSubscription_Destroy(sub);
    if (p.bad) throw std::runtime_error("raw pipelined: reply of the wrong size");
    return rate;
  }
};

// ---------------------------------------------------------------- StarGateNode

struct StarGate {
  std::filesystem::path dir;
  Loop callee_loop, caller_loop;
  std::unique_ptr<stargate::StarGateNode> callee, caller;
  std::string callee_id;

  StarGate(const std::string& url, const std::filesystem::path& base) : dir(base) {
    callee = std::make_unique<stargate::StarGateNode>(callee_loop.io.get_executor(), node_options(dir, "bench-callee", url));
    caller = std::make_unique<stargate::StarGateNode>(caller_loop.io.get_executor(), node_options(dir, "bench-caller", url));
    callee->handle("echo", echo_params());
    start_on(callee_loop, *callee);
    start_on(caller_loop, *caller);
    callee_id = callee->agent_id();
  }

  ~StarGate() {
    stop_on(caller_loop, caller);
    stop_on(callee_loop, callee);
  }

  static json::value params_of(const std::string& data) { return json::object{{"d", data}}; }

  // Runs on the caller's io_context.
  asio::awaitable<void> call_once(const json::value& params, std::size_t size) {
    auto result = co_await caller->call(callee_id, "echo", params);
    const auto* d = result.is_object() ? result.as_object().if_contains("d") : nullptr;
    if (d == nullptr || !d->is_string() || d->as_string().size() != size)
      throw std::runtime_error("StarGate: unexpected echo result");
  }

  asio::awaitable<void> latency_loop(std::string data, int warmup, int count, Latency& out) {
    auto params = params_of(data);
    for (int i = 0; i < warmup; ++i) co_await call_once(params, data.size());
    for (int i = 0; i < count; ++i) {
      auto t0 = BenchClock::now();
      co_await call_once(params, data.size());
      out.us.push_back(micros(BenchClock::now() - t0));
    }
  }

  void latency(const std::string& data, int warmup, int count, Latency& out) {
    asio::co_spawn(caller_loop.io, latency_loop(data, warmup, count, out), asio::use_future).get();
  }

  asio::awaitable<std::uint64_t> worker(json::value params, std::size_t size, BenchClock::time_point deadline) {
    std::uint64_t mine = 0;
    while (BenchClock::now() < deadline) {
      co_await call_once(params, size);
      ++mine;
    }
    co_return mine;
  }

  double throughput(const std::string& data, std::chrono::milliseconds duration) {
    auto params = params_of(data);
    std::vector<std::future<std::uint64_t>> futures;
    auto start = BenchClock::now();
    auto deadline = start + duration;
    for (int t = 0; t < concurrency; ++t)
      futures.push_back(asio::co_spawn(caller_loop.io, worker(params, data.size(), deadline), asio::use_future));
    std::uint64_t done = 0;
    for (auto& f : futures) done += f.get();
    return static_cast<double>(done) / seconds(BenchClock::now() - start);
  }
};

// ---------------------------------------------------------------- report

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Counts counts;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      counts.rounds = 1;
      counts.warmup = 100;
      counts.latency_small = 1000;
      counts.latency_large = 300;
      counts.throughput_duration = 1000ms;
    } else if (std::strncmp(argv[i], "--profile=", 10) == 0) {
      counts.profile = argv[i] + 10;
    } else {
      std::fprintf(stderr, "usage: stargate_nats_bench [--quick] [--profile=sg-small|sg-large|sg-large-after-small|sg-tput-large|raw-large|raw-tput-large]\n");
      return 2;
    }
  }
  try {
    auto server = stargate::testing::NatsServer::start();
    auto url = server.url();
    char tmpl[] = "/tmp/sg-nats-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    std::filesystem::path base(tmpl);

    const std::string small = payload(small_size), large = payload(large_size);
    Latency raw_small, raw_large, sg_small, sg_large;
    Rate raw_tput_small, raw_tput_large, sg_tput_small, sg_tput_large, pipe_tput_small, pipe_tput_large;
    std::size_t max_payload = 0;
    {
      Raw raw(url);
      max_payload = static_cast<std::size_t>(natsConnection_GetMaxPayload(raw.caller));
      StarGate sg(url, base);
      if (!counts.profile.empty()) {
        // One StarGate phase alone, long enough for `perf record`; prints nothing but its figure.
        Latency l;
        if (counts.profile == "sg-small") sg.latency(small, counts.warmup, 20 * counts.latency_small, l);
        if (counts.profile == "sg-large") sg.latency(large, counts.warmup / 3, 10 * counts.latency_large, l);
        if (counts.profile == "sg-large-after-small") {  // the order of the full run: see docs/benchmarks.md
          Latency warm;
          sg.latency(small, counts.warmup, counts.latency_small, warm);
          sg.latency(large, counts.warmup / 3, counts.latency_large, l);
        }
        if (counts.profile == "sg-large-after-tput") {  // the 64 KiB latency phase of rounds 2 and 3
          sg.throughput(large, counts.throughput_duration);
          sg.latency(large, counts.warmup / 3, counts.latency_large, l);
        }
        if (counts.profile == "sg-tput-large")
          std::printf("%.0f calls/s\n", sg.throughput(large, 5 * counts.throughput_duration));
        // raw's counterparts, to compare profiles (e.g. nats-server's share per call).
        if (counts.profile == "raw-large") raw.latency(large, counts.warmup / 3, 10 * counts.latency_large, l);
        if (counts.profile == "raw-tput-large")
          std::printf("%.0f calls/s\n", raw.throughput(large, 5 * counts.throughput_duration));
        if (!l.us.empty()) std::printf("median %.1f us, p99 %.1f us\n", l.median(), l.p99());
        return 0;
      }
      for (int round = 0; round < counts.rounds; ++round) {
        std::fprintf(stderr, "round %d/%d: latency 64 B\n", round + 1, counts.rounds);
        raw.latency(small, counts.warmup, counts.latency_small, raw_small);
        sg.latency(small, counts.warmup, counts.latency_small, sg_small);
        std::fprintf(stderr, "round %d/%d: latency 64 KiB\n", round + 1, counts.rounds);
        raw.latency(large, counts.warmup / 3, counts.latency_large, raw_large);
        sg.latency(large, counts.warmup / 3, counts.latency_large, sg_large);
        std::fprintf(stderr, "round %d/%d: throughput, %d callers\n", round + 1, counts.rounds, concurrency);
        raw_tput_small.per_second.push_back(raw.throughput(small, counts.throughput_duration));
        sg_tput_small.per_second.push_back(sg.throughput(small, counts.throughput_duration));
        pipe_tput_small.per_second.push_back(raw.pipelined_throughput(small, counts.throughput_duration));
        raw_tput_large.per_second.push_back(raw.throughput(large, counts.throughput_duration));
        sg_tput_large.per_second.push_back(sg.throughput(large, counts.throughput_duration));
        pipe_tput_large.per_second.push_back(raw.pipelined_throughput(large, counts.throughput_duration));
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(base, ec);

    auto lat_row = [](const char* name, const Latency& l, const Latency& raw) {
      std::printf("| %s | %zu | %s µs | %s µs | %s× | %s× |\n", name, l.us.size(), fmt("%.1f", l.median()).c_str(),
                  fmt("%.1f", l.p99()).c_str(), fmt("%.2f", l.median() / raw.median()).c_str(),
                  fmt("%.2f", l.p99() / raw.p99()).c_str());
    };
    auto rate_row = [](const char* name, const Rate& r, const Rate& raw) {
      std::printf("| %s | %zu | %s | %s | %s× |\n", name, r.per_second.size(), fmt("%.0f", r.median()).c_str(),
                  fmt("%.0f", r.best()).c_str(), fmt("%.2f", r.median() / raw.median()).c_str());
    };
    std::printf("Broker max_payload %zu bytes; nats.c %s.\n\n", max_payload, nats_GetVersion());
    std::printf("| latency, one caller | samples | median | p99 | median vs raw | p99 vs raw |\n");
    std::printf("|---|---:|---:|---:|---:|---:|\n");
    lat_row("(n1) raw nats.c request/reply, 64 B", raw_small, raw_small);
    lat_row("(n2) StarGateNode call, 64 B params (echo)", sg_small, raw_small);
    lat_row("(n3) raw nats.c request/reply, 64 KiB", raw_large, raw_large);
    lat_row("(n4) StarGateNode call, 64 KiB params (echo)", sg_large, raw_large);
    std::printf("\n| throughput, %d concurrent callers | runs | median calls/s | best calls/s | median vs raw |\n",
                concurrency);
    std::printf("|---|---:|---:|---:|---:|\n");
    rate_row("(n5) raw nats.c, 64 B (32 threads, one connection)", raw_tput_small, raw_tput_small);
    rate_row("(n6) StarGateNode, 64 B (32 coroutines, one caller node)", sg_tput_small, raw_tput_small);
    rate_row("(n6r) raw nats.c, 64 B, 32 in flight from one thread (async)", pipe_tput_small, raw_tput_small);
    rate_row("(n7) raw nats.c, 64 KiB (32 threads, one connection)", raw_tput_large, raw_tput_large);
    rate_row("(n8) StarGateNode, 64 KiB (32 coroutines, one caller node)", sg_tput_large, raw_tput_large);
    rate_row("(n8r) raw nats.c, 64 KiB, 32 in flight from one thread (async)", pipe_tput_large, raw_tput_large);

    auto verdict_max = [](double v, double aim) { return v <= aim ? std::string("met") : std::string("**not met**"); };
    auto verdict_min = [](double v, double aim) { return v >= aim ? std::string("met") : std::string("**not met**"); };
    double l1 = sg_small.median() / raw_small.median(), l2 = sg_large.median() / raw_large.median();
    double t1 = sg_tput_small.median() / raw_tput_small.median(), t2 = sg_tput_large.median() / raw_tput_large.median();
    std::printf("\n| aim | this run | verdict |\n|---|---|---|\n");
    std::printf("| 64 B call latency within 1.25× raw nats.c (median) | %s× | %s |\n", fmt("%.2f", l1).c_str(),
                verdict_max(l1, 1.25).c_str());
    std::printf("| 64 KiB call latency within 1.25× raw nats.c (median) | %s× | %s |\n", fmt("%.2f", l2).c_str(),
                verdict_max(l2, 1.25).c_str());
    std::printf("| 64 B throughput, 32 callers, ≥ 0.8× raw (medians) | %s× | %s |\n", fmt("%.2f", t1).c_str(),
                verdict_min(t1, 0.8).c_str());
    std::printf("| 64 KiB throughput, 32 callers, ≥ 0.8× raw (medians) | %s× | %s |\n", fmt("%.2f", t2).c_str(),
                verdict_min(t2, 0.8).c_str());
    // Against the stronger raw figure of the two (threads or async), whichever it is.
    double r1 = sg_tput_small.median() / std::max(raw_tput_small.median(), pipe_tput_small.median());
    double r2 = sg_tput_large.median() / std::max(raw_tput_large.median(), pipe_tput_large.median());
    std::printf("| 64 B throughput ≥ 0.8× the better raw variant (n5 or n6r) | %s× | %s |\n", fmt("%.2f", r1).c_str(),
                verdict_min(r1, 0.8).c_str());
    std::printf("| 64 KiB throughput ≥ 0.8× the better raw variant (n7 or n8r) | %s× | %s |\n", fmt("%.2f", r2).c_str(),
                verdict_min(r2, 0.8).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stargate_nats_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
