#pragma once
// A value that goes up and down (open connections, queue length, a state as 0/1). Relaxed
// atomics: safe from any thread, no lock.
#include <atomic>

namespace stargate::metrics {

class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

}  // namespace stargate::metrics
