#pragma once
// Statistics shared by the benchmark drivers: latency samples and medians of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace stargate::bench {

using BenchClock = std::chrono::steady_clock;

inline double micros(BenchClock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// n bytes of letters (a JSON string that needs no escaping).
inline std::string payload(std::size_t n) {
  std::string s(n, 'x');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

inline double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Latency {
  std::vector<double> us;
  double percentile(double p) const {
    if (us.empty()) return 0;
    auto sorted = us;
    std::sort(sorted.begin(), sorted.end());
    auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(index, sorted.size() - 1)];
  }
  double median() const { return percentile(0.5); }
  double p99() const { return percentile(0.99); }
};

}  // namespace stargate::bench
