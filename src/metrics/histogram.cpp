#include "metrics/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace stargate::metrics {

std::vector<double> default_latency_bounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_bounds(double start, double factor, std::size_t count) {
  if (!(start > 0) || !(factor > 1)) throw std::invalid_argument("exponential bounds need start > 0 and factor > 1");
  std::vector<double> out;
  for (double b = start; out.size() < count; b *= factor) out.push_back(b);
  check_bounds(out);
  return out;
}

std::vector<double> linear_bounds(double start, double width, std::size_t count) {
  if (!(width > 0)) throw std::invalid_argument("linear bounds need width > 0");
  std::vector<double> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(start + width * static_cast<double>(i));
  check_bounds(out);
  return out;
}

void check_bounds(const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) throw std::invalid_argument("histogram bounds must be finite (+Inf is implied)");
    if (i > 0 && !(bounds[i - 1] < bounds[i])) throw std::invalid_argument("histogram bounds must be strictly ascending");
  }
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::observe(double value) noexcept {
  // The first bound >= value: a value equal to a bound belongs to that bucket. NaN goes to +Inf
  // (and makes the sum NaN), as in the Go client.
  auto it = std::isnan(value) ? bounds_->end() : std::lower_bound(bounds_->begin(), bounds_->end(), value);
  auto index = static_cast<std::size_t>(it - bounds_->begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSample Histogram::sample() const {
  HistogramSample out;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  out.count = running + buckets_[bounds_->size()].load(std::memory_order_relaxed);
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

}  // namespace stargate::metrics
