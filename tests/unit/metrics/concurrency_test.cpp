// Handles are used from many threads at once; run under ThreadSanitizer or ASan for races.
#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace stargate::metrics {
namespace {

constexpr int kThreads = 4;
constexpr int kPerThread = 100000;

template <class Body>
void run_threads(Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (auto& thread : threads) thread.join();
}

TEST(ConcurrencyTest, ThreadsIncrementingOneCounterSumCorrectly) {
  Registry registry;
  auto& counter = registry.counter("stargate_events", "Events");
  run_threads([&](int) {
    for (int i = 0; i < kPerThread; ++i) counter.inc();
  });
  EXPECT_EQ(counter.value(), static_cast<std::uint64_t>(kThreads) * kPerThread);
}

TEST(ConcurrencyTest, ThreadsObservingOneHistogramCountEverything) {
  Registry registry;
  auto& h = registry.histogram("stargate_d_seconds", "D", {0.5});
  auto& g = registry.gauge("stargate_g", "G");
  run_threads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      h.observe(t % 2 ? 1.0 : 0.25);
      g.add(1);
    }
  });
  auto s = h.sample();
  EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads) * kPerThread);
  EXPECT_EQ(s.cumulative[0], static_cast<std::uint64_t>(kThreads / 2) * kPerThread);
  EXPECT_DOUBLE_EQ(s.sum, (kThreads / 2) * kPerThread * 1.25);
  EXPECT_EQ(g.value(), kThreads * kPerThread);
}

TEST(ConcurrencyTest, ConcurrentLookupsAndScrapesAgree) {
  Registry registry;
  auto& family = registry.counter_family("stargate_calls", "Calls", {"tier"});
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) (void)registry.render();
  });
  run_threads([&](int t) {
    const char* tiers[] = {"direct", "relay"};
    for (int i = 0; i < kPerThread / 10; ++i) family.with({tiers[(t + i) % 2]}).inc();
  });
  done = true;
  scraper.join();
  EXPECT_EQ(family.size(), 2u);
  EXPECT_EQ(family.with({"direct"}).value() + family.with({"relay"}).value(), static_cast<std::uint64_t>(kThreads) * kPerThread / 10);
}

}  // namespace
}  // namespace stargate::metrics
