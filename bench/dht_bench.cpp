// Kademlia lookups in simulated networks of 50, 200 and 1,000 nodes, by driving the sans-IO
// routing tables and lookups directly with a simulated clock (each request takes a uniformly
// drawn 20-80 ms round trip; a request to a dead node fails after the 5 s per-request timeout, and
// stops holding up the lookup after 1.5 s, as kad_io's stall timer makes it), with one lookup
// path and with four disjoint ones,
// and the memory a routing-table entry and a provider record take (glibc's allocator statistics).
// Prints Markdown for docs/benchmarks.md (scripts/bench.sh --dht-only).
#include "crypto/ed25519.hpp"
#include "p2p/protocols/kad/lookup.hpp"
#include "p2p/protocols/kad/provider_store.hpp"
#include "p2p/protocols/kad/routing_table.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace stargate;
using namespace stargate::p2p::kad;
using Millis = double;

namespace {

struct Network {
  std::vector<crypto::PeerId> ids;
  std::map<crypto::PeerId, RoutingTable> tables;
  std::set<crypto::PeerId> dead;
};

Network build(std::size_t n) {
  Network net;
  for (std::size_t i = 0; i < n; ++i)
    net.ids.push_back(crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key()));
  const auto addr = Multiaddr::parse("/ip4/203.0.113.1/tcp/4001").value();
  for (const auto& id : net.ids) {
    auto& table = net.tables.emplace(id, RoutingTable(id)).first->second;
    for (const auto& other : net.ids) table.add(other, {addr}, SteadyTime{});
  }
  return net;
}

struct Outcome {
  Millis latency = 0;
  std::size_t hops = 0, requests = 0;
  bool found_closest = false;
};

Outcome simulate(const Network& net, const crypto::PeerId& origin, const KadKey& target, std::mt19937_64& rng,
                 std::size_t paths) {
  std::vector<Candidate> seeds;
  for (const auto& e : net.tables.at(origin).closest(target, 20)) seeds.push_back(Candidate{e.peer, {}});
  Lookup lookup(target, origin, seeds, LookupConfig{.alpha = 3, .k = 20, .max_candidates = 256, .disjoint_paths = paths});
  std::uniform_real_distribution<Millis> rtt(20, 80);
  // (time, is a stall check, peer): answers and failures, and the I/O layer's 1.5 s stall timer.
  using Event = std::tuple<Millis, bool, crypto::PeerId>;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> pending;
  Millis now = 0;
  for (;;) {
    for (auto& c : lookup.next()) {
      pending.emplace(now + (net.dead.contains(c.peer) ? 5000.0 : rtt(rng)), false, c.peer);
      pending.emplace(now + 1500.0, true, c.peer);
    }
    if (lookup.finished() && lookup.in_flight() == 0) break;
    if (pending.empty()) break;
    auto [when, stall_check, peer] = pending.top();
    pending.pop();
    now = when;
    if (stall_check) {
      lookup.on_stalled(peer);  // ignored unless still in flight
    } else if (net.dead.contains(peer)) {
      lookup.on_failure(peer);
    } else {
      std::vector<Candidate> closer;
      for (const auto& e : net.tables.at(peer).closest(target, 20)) closer.push_back(Candidate{e.peer, {}});
      lookup.on_response(peer, std::move(closer));
    }
  }
  crypto::PeerId best;
  for (const auto& id : net.ids) {
    if (id == origin || net.dead.contains(id)) continue;
    if (best.empty() || distance(key_of(id), target) < distance(key_of(best), target)) best = id;
  }
  auto answered = lookup.closest_answered(1);
  return Outcome{now, lookup.hops(), lookup.requests_sent(), !answered.empty() && answered.front().peer == best};
}

Millis percentile(std::vector<Millis> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

void run(std::size_t n, double dead_fraction, std::size_t lookups, std::size_t paths = 1) {
  auto net = build(n);
  std::mt19937_64 rng(n * 7919 + static_cast<std::size_t>(dead_fraction * 100));
  std::vector<crypto::PeerId> shuffled = net.ids;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (std::size_t i = 0; i < static_cast<std::size_t>(dead_fraction * static_cast<double>(n)); ++i) net.dead.insert(shuffled[i]);
  std::vector<Millis> latencies;
  double hops = 0, requests = 0;
  std::size_t found = 0;
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  for (std::size_t i = 0; i < lookups; ++i) {
    crypto::PeerId origin;
    do origin = net.ids[pick(rng)];
    while (net.dead.contains(origin));
    KadKey target;
    for (auto& b : target.bytes) b = static_cast<std::uint8_t>(rng());
    auto o = simulate(net, origin, target, rng, paths);
    latencies.push_back(o.latency);
    hops += static_cast<double>(o.hops);
    requests += static_cast<double>(o.requests);
    found += o.found_closest ? 1 : 0;
  }
  const double count = static_cast<double>(lookups);
  std::printf("| %zu | %.0f%% | %zu | %.0f ms | %.0f ms | %.1f | %.1f | %.1f%% |\n", n, dead_fraction * 100, paths,
              percentile(latencies, 0.5), percentile(latencies, 0.95), hops / count, requests / count,
              100.0 * static_cast<double>(found) / count);
}

std::size_t heap_in_use() { return mallinfo2().uordblks; }

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const std::size_t lookups = quick ? 50 : 300;
  std::printf("Simulated lookups (α = 3, k = 20; routing tables filled from the whole network; "
              "%zu lookups of random keys per row). Latency is simulated time: 20-80 ms per request, "
              "5 s for a request to a dead node, which the lookup stops waiting for after 1.5 s. *Found* is the share of lookups whose closest answer is "
              "the live node truly closest to the key.\n\n",
              lookups);
  std::printf("| nodes | dead | disjoint paths | p50 latency | p95 latency | hops | requests | found |\n"
              "|---|---|---|---|---|---|---|---|\n");
  for (std::size_t n : {50, 200, 1000}) run(n, 0.0, lookups);
  for (std::size_t n : {200, 1000}) run(n, 0.2, lookups);
  // What S/Kademlia's disjoint paths cost where nobody lies (LookupConfig::disjoint_paths).
  run(1000, 0.0, lookups, 4);
  run(1000, 0.2, lookups, 4);

  // Memory: one routing table filled from 2,000 peers, and 100,000 provider records.
  std::vector<crypto::PeerId> peers;
  for (int i = 0; i < 2000; ++i)
    peers.push_back(crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key()));
  const auto addr = Multiaddr::parse("/ip4/203.0.113.1/tcp/4001").value();
  auto before = heap_in_use();
  RoutingTable table(peers[0], RoutingTableConfig{.bucket_size = 20, .replacement_cache = 0, .max_addrs_per_peer = 8,
                                                  .check_after = std::chrono::seconds(60)});
  for (const auto& p : peers) table.add(p, {addr}, SteadyTime{});
  const double per_entry = static_cast<double>(heap_in_use() - before) / static_cast<double>(table.size());
  before = heap_in_use();
  ProviderStore store(ProviderStoreConfig{.max_keys = 200000, .max_providers_per_key = 100, .max_addrs_per_provider = 8,
                                          .ttl = std::chrono::hours(48)});
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    Bytes key(34);
    key[0] = 0x12;
    key[1] = 0x20;
    for (std::size_t j = 2; j < key.size(); ++j) key[j] = static_cast<std::uint8_t>(rng());
    store.add(key, peers[static_cast<std::size_t>(i) % peers.size()], {addr}, std::chrono::steady_clock::time_point{});
  }
  const double per_record = static_cast<double>(heap_in_use() - before) / static_cast<double>(store.records());
  std::printf("\nMemory (heap, glibc `mallinfo2`): %.0f bytes per routing-table entry (PeerId, key, one address; "
              "%zu entries), %.0f bytes per provider record (34-byte key, one address, one provider per key; "
              "%zu records).\n",
              per_entry, table.size(), per_record, store.records());
  return 0;
}
