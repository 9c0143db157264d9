#include "metrics/histogram.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

namespace stargate::metrics {
namespace {

Histogram make(std::vector<double> bounds) {
  check_bounds(bounds);
  return Histogram(std::make_shared<const std::vector<double>>(std::move(bounds)));
}

TEST(HistogramTest, ValueEqualToABoundGoesInThatBucket) {
  auto h = make({1, 2, 3});
  h.observe(1);    // le=1
  h.observe(2);    // le=2
  h.observe(2.5);  // le=3
  h.observe(3);    // le=3
  h.observe(3.0000001);  // +Inf only
  auto s = h.sample();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 2, 4}));
  EXPECT_EQ(s.count, 5u);
}

TEST(HistogramTest, BelowTheFirstBoundAndNegativeGoInTheFirstBucket) {
  auto h = make({0.5});
  h.observe(0);
  h.observe(-3);
  auto s = h.sample();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(s.count, 2u);
  EXPECT_EQ(s.sum, -3);
}

TEST(HistogramTest, InfinityAndNanGoToInf) {
  auto h = make({1});
  h.observe(std::numeric_limits<double>::infinity());
  h.observe(std::nan(""));
  auto s = h.sample();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{0}));
  EXPECT_EQ(s.count, 2u);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(HistogramTest, DurationsAreObservedInSeconds) {
  auto h = make({0.001, 0.01});
  h.observe(std::chrono::microseconds(500));
  h.observe(std::chrono::milliseconds(10));
  auto s = h.sample();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_DOUBLE_EQ(s.sum, 0.0105);
}

TEST(HistogramTest, NoBoundsMeansOnlyInf) {
  auto h = make({});
  h.observe(5);
  EXPECT_EQ(h.sample().count, 1u);
  EXPECT_TRUE(h.sample().cumulative.empty());
}

TEST(HistogramTest, BoundsAreChecked) {
  EXPECT_THROW(check_bounds({1, 1}), std::invalid_argument);
  EXPECT_THROW(check_bounds({2, 1}), std::invalid_argument);
  EXPECT_THROW(check_bounds({1, std::numeric_limits<double>::infinity()}), std::invalid_argument);
  EXPECT_THROW(check_bounds({std::nan("")}), std::invalid_argument);
  EXPECT_NO_THROW(check_bounds(default_latency_bounds()));
  EXPECT_EQ(exponential_bounds(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linear_bounds(0, 0.5, 3), (std::vector<double>{0, 0.5, 1}));
  EXPECT_THROW(exponential_bounds(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(linear_bounds(0, 0, 3), std::invalid_argument);
}

TEST(HistogramTest, DefaultLatencyBoundsSpanMicrosecondsToSeconds) {
  auto b = default_latency_bounds();
  EXPECT_EQ(b.front(), 0.0001);
  EXPECT_EQ(b.back(), 10);
}

}  // namespace
}  // namespace stargate::metrics
