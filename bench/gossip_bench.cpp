// Gossipsub propagation in a simulated network of 200 nodes: the sans-IO routers of
// src/p2p/protocols/gossipsub (the code agents run), every RPC through the codec, each link with a
// fixed latency drawn from 20-80 ms, driven by an event queue on a simulated clock. Each node
// connects to 20 random others; meshes form over 10 heartbeats; then messages are published from
// random nodes and the time until 99% (and 100%) of the others have delivered each is measured, with
// the RPCs it took. Prints Markdown for docs/benchmarks.md (scripts/bench.sh --dht-only).
#include "crypto/ed25519.hpp"
#include "p2p/protocols/gossipsub/router.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <tuple>
#include <vector>

using namespace stargate;
using namespace stargate::p2p::gossipsub;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kNodes = 200;
constexpr std::size_t kDegree = 20;

struct Sim {
  std::vector<std::unique_ptr<Router>> routers;
  std::map<crypto::PeerId, std::size_t> index;
  std::map<std::pair<std::size_t, std::size_t>, double> latency_ms;  // per link, both ways
  TimePoint start{};
  std::mt19937_64 rng{42};

  void build() {
    for (std::size_t i = 0; i < kNodes; ++i) {
      routers.push_back(std::make_unique<Router>(crypto::Ed25519PrivateKey::generate(), RouterConfig{}, 1, 1000 + i));
      index[routers.back()->peer_id()] = i;
    }
    std::uniform_int_distribution<std::size_t> pick(0, kNodes - 1);
    std::uniform_real_distribution<double> latency(20, 80);
    for (std::size_t a = 0; a < kNodes; ++a) {
      for (std::size_t links = 0; links < kDegree / 2;) {
        const auto b = pick(rng);
        if (b == a || latency_ms.contains({a, b})) continue;
        const double l = latency(rng);
        latency_ms[{a, b}] = latency_ms[{b, a}] = l;
        routers[a]->add_peer(routers[b]->peer_id(), PeerKind::meshsub_v11, true, start);
        routers[b]->add_peer(routers[a]->peer_id(), PeerKind::meshsub_v11, false, start);
        ++links;
      }
    }
  }

  // Runs the event queue from `t0` (ms) until empty; returns per node the time of its first
  // delivery (or -1) and counts the RPCs carried.
  std::vector<double> run(double t0, std::size_t& rpcs) {
    using Event = std::tuple<double, std::size_t, std::size_t, std::size_t>;  // when, from, to, slot
    std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
    std::vector<Rpc> slots;
    std::vector<double> delivered(kNodes, -1);
    auto send_all = [&](std::size_t from, double now) {
      for (auto& [to, rpc] : routers[from]->take_outbound()) {
        const auto target = index.at(to);
        slots.push_back(std::move(rpc));
        queue.emplace(now + latency_ms.at({from, target}), from, target, slots.size() - 1);
        ++rpcs;
      }
    };
    for (std::size_t i = 0; i < kNodes; ++i) send_all(i, t0);
    while (!queue.empty()) {
      auto [when, from, to, slot] = queue.top();
      queue.pop();
      auto decoded = decode(encode(slots[slot]));
      if (!decoded) std::abort();
      const auto now = start + std::chrono::microseconds(static_cast<std::int64_t>(when * 1000));
      routers[to]->handle_rpc(routers[from]->peer_id(), std::move(*decoded), now);
      if (!routers[to]->take_deliveries().empty() && delivered[to] < 0) delivered[to] = when;
      send_all(to, when);
    }
    return delivered;
  }

  void heartbeats(int count, double& clock_ms) {
    std::size_t ignored = 0;
    for (int i = 0; i < count; ++i) {
      clock_ms += 1000;
      const auto now = start + std::chrono::milliseconds(static_cast<std::int64_t>(clock_ms));
      for (auto& r : routers) r->heartbeat(now);
      run(clock_ms, ignored);
      for (auto& r : routers) r->take_deliveries();
    }
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int messages = quick ? 10 : 50;
  Sim sim;
  sim.build();
  double clock_ms = 0;
  for (auto& r : sim.routers) r->subscribe("traylinx.announce", sim.start);
  std::size_t ignored = 0;
  sim.run(clock_ms, ignored);
  sim.heartbeats(10, clock_ms);
  std::size_t mesh_total = 0;
  for (auto& r : sim.routers) mesh_total += r->mesh("traylinx.announce").size();

  std::vector<double> p99_times, all_times;
  std::size_t reached_all = 0, rpcs_total = 0;
  std::uniform_int_distribution<std::size_t> pick(0, kNodes - 1);
  for (int m = 0; m < messages; ++m) {
    const auto origin = pick(sim.rng);
    clock_ms += 1000;  // messages two seconds apart, with a heartbeat between them
    sim.heartbeats(1, clock_ms);
    const auto now = sim.start + std::chrono::milliseconds(static_cast<std::int64_t>(clock_ms));
    Bytes data(512, static_cast<std::uint8_t>(m));
    if (!sim.routers[origin]->publish("traylinx.announce", data, now)) std::abort();
    std::size_t rpcs = 0;
    auto delivered = sim.run(clock_ms, rpcs);
    rpcs_total += rpcs;
    std::vector<double> times;
    for (std::size_t i = 0; i < kNodes; ++i)
      if (i != origin && delivered[i] >= 0) times.push_back(delivered[i] - clock_ms);
    std::sort(times.begin(), times.end());
    const std::size_t need99 = (kNodes - 1) * 99 / 100;
    if (times.size() >= need99) p99_times.push_back(times[need99 - 1]);
    if (times.size() == kNodes - 1) {
      ++reached_all;
      all_times.push_back(times.back());
    }
  }
  std::printf("\nGossipsub propagation (simulated, `bench/gossip_bench.cpp`): %zu nodes, each connected to ~%zu random "
              "others with 20-80 ms links, default parameters (D = 6, flood publish), mean mesh degree %.1f after 10 "
              "heartbeats; %d messages of 512 B published from random nodes, one every two simulated seconds. Heartbeats "
              "run between messages, not while one spreads, so the delays are those of flood publishing and the mesh "
              "alone (IHAVE/IWANT gossip would only repair what they miss).\n\n",
              kNodes, kDegree, static_cast<double>(mesh_total) / kNodes, messages);
  std::printf("| reached 99%% of nodes, median | p95 | reached all nodes | median time to all | RPCs per message |\n"
              "|---|---|---|---|---|\n");
  std::printf("| %.0f ms | %.0f ms | %zu of %d | %.0f ms | %.0f |\n", p99_times.empty() ? 0.0 : percentile(p99_times, 0.5),
              p99_times.empty() ? 0.0 : percentile(p99_times, 0.95), reached_all, messages,
              all_times.empty() ? 0.0 : percentile(all_times, 0.5), static_cast<double>(rpcs_total) / messages);
  return 0;
}
