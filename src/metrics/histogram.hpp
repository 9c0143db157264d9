#pragma once
// A distribution of observations (latencies in seconds, sizes in bytes) over fixed buckets. A
// bucket counts the observations less than or equal to its upper bound, as Prometheus' `le`
// says; observe() is a binary search over the bounds and two relaxed atomic adds, no lock.
#include "metrics/snapshot.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace stargate::metrics {

// Call latencies here span ~30 µs (pooled TCP) to seconds (NATS fallback under a deadline):
// 100 µs to 10 s, about 2.5x apart.
std::vector<double> default_latency_bounds();
// start, start*factor, ... (count bounds); start > 0, factor > 1.
std::vector<double> exponential_bounds(double start, double factor, std::size_t count);
// start, start+width, ... (count bounds); width > 0.
std::vector<double> linear_bounds(double start, double width, std::size_t count);
// Throws std::invalid_argument unless the bounds are finite and strictly ascending (the "+Inf"
// bucket is always there and must not be listed).
void check_bounds(const std::vector<double>& bounds);

class Histogram {
 public:
  // `bounds` must have passed check_bounds(); a family's children share them.
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double value) noexcept;
  // Durations are observed in seconds, the base unit.
  template <class Rep, class Period>
  void observe(std::chrono::duration<Rep, Period> d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  const std::vector<double>& bounds() const { return *bounds_; }
  // Cumulative bucket counts, sum and count; label values left empty.
  HistogramSample sample() const;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

}  // namespace stargate::metrics
