#pragma once
// A monotonically increasing count (events, bytes). Obtain the handle once (Registry::counter(),
// Family::with()) and keep it: inc() is one relaxed atomic add, safe from any thread. Not
// copyable (the atomic is not): a handle is a reference.
#include <atomic>
#include <cstdint>

namespace stargate::metrics {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace stargate::metrics
