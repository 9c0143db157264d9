#include "metrics/json_snapshot.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <limits>

namespace stargate::metrics {
namespace {

TEST(JsonSnapshotTest, HoldsTheSameNumbersAsTheText) {
  Registry registry;
  registry.counter_family("stargate_calls", "Calls by tier and outcome", {"tier", "outcome"}).with({"nats", "ok"}).inc(3);
  registry.gauge("stargate_ratio", "A ratio").set(0.5);
  auto& h = registry.histogram("stargate_call_duration_seconds", "Call latency", {0.25, 1});
  h.observe(0.25);
  h.observe(3);

  auto expected = boost::json::parse(R"({
    "stargate_call_duration_seconds": {"type": "histogram", "help": "Call latency", "labels": [],
      "samples": [{"labels": {}, "buckets": {"0.25": 1, "1": 1, "+Inf": 2}, "sum": 3.25, "count": 2}]},
    "stargate_calls_total": {"type": "counter", "help": "Calls by tier and outcome", "labels": ["tier", "outcome"],
      "samples": [{"labels": {"tier": "nats", "outcome": "ok"}, "value": 3}]},
    "stargate_ratio": {"type": "gauge", "help": "A ratio", "labels": [], "samples": [{"labels": {}, "value": 0.5}]}
  })");
  auto actual = to_json(registry);
  EXPECT_EQ(actual, expected) << boost::json::serialize(actual);
  // Whole numbers are integers, not "3E0".
  EXPECT_NE(boost::json::serialize(actual).find("\"value\":3}"), std::string::npos);
}

TEST(JsonSnapshotTest, NonFiniteValuesAreStrings) {
  Registry registry;
  registry.gauge("stargate_g", "G").set(std::numeric_limits<double>::infinity());
  auto value = to_json(registry).at("stargate_g").at("samples").at(0).at("value");
  EXPECT_EQ(value, boost::json::value("+Inf"));
}

}  // namespace
}  // namespace stargate::metrics
