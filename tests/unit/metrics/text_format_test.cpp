#include "metrics/text_format.hpp"

#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace stargate::metrics {
namespace {

TEST(TextFormatTest, RendersKnownRegistryExactly) {
  Registry registry;
  auto& calls = registry.counter_family("stargate_calls", "Calls by tier and outcome", {"tier", "outcome"});
  calls.with({"nats", "ok"}).inc(3);
  calls.with({"direct", "error"}).inc();
  registry.gauge("stargate_peers", "Known peers").set(2);
  auto& latency = registry.histogram("stargate_call_duration_seconds", "Call latency", {0.25, 0.5, 1});
  latency.observe(0.25);
  latency.observe(0.5);
  latency.observe(2.0);

  EXPECT_EQ(registry.render(),
            "# HELP stargate_call_duration_seconds Call latency\n"
            "# TYPE stargate_call_duration_seconds histogram\n"
            "stargate_call_duration_seconds_bucket{le=\"0.25\"} 1\n"
            "stargate_call_duration_seconds_bucket{le=\"0.5\"} 2\n"
            "stargate_call_duration_seconds_bucket{le=\"1\"} 2\n"
            "stargate_call_duration_seconds_bucket{le=\"+Inf\"} 3\n"
            "stargate_call_duration_seconds_sum 2.75\n"
            "stargate_call_duration_seconds_count 3\n"
            "# HELP stargate_calls_total Calls by tier and outcome\n"
            "# TYPE stargate_calls_total counter\n"
            "stargate_calls_total{tier=\"direct\",outcome=\"error\"} 1\n"
            "stargate_calls_total{tier=\"nats\",outcome=\"ok\"} 3\n"
            "# HELP stargate_peers Known peers\n"
            "# TYPE stargate_peers gauge\n"
            "stargate_peers 2\n");
}

TEST(TextFormatTest, LabelledHistogramPutsLeLast) {
  Registry registry;
  auto& h = registry.histogram_family("stargate_rtt_seconds", "RTT", {"tier"}, {0.001});
  h.with({"relay"}).observe(0.0005);
  EXPECT_EQ(registry.render(),
            "# HELP stargate_rtt_seconds RTT\n"
            "# TYPE stargate_rtt_seconds histogram\n"
            "stargate_rtt_seconds_bucket{tier=\"relay\",le=\"0.001\"} 1\n"
            "stargate_rtt_seconds_bucket{tier=\"relay\",le=\"+Inf\"} 1\n"
            "stargate_rtt_seconds_sum{tier=\"relay\"} 0.0005\n"
            "stargate_rtt_seconds_count{tier=\"relay\"} 1\n");
}

TEST(TextFormatTest, FamilyWithoutChildrenStillHasHelpAndType) {
  Registry registry;
  registry.counter_family("stargate_refused", "Refused inputs", {"reason"});
  EXPECT_EQ(registry.render(), "# HELP stargate_refused_total Refused inputs\n# TYPE stargate_refused_total counter\n");
}

TEST(TextFormatTest, EscapesHelpAndLabelValues) {
  EXPECT_EQ(escape_help("a\\b\nc \"quoted\""), "a\\\\b\\nc \"quoted\"");
  EXPECT_EQ(escape_label_value("a\\b\nc \"quoted\""), "a\\\\b\\nc \\\"quoted\\\"");

  Registry registry;
  registry.counter_family("stargate_x", "line one\nline two \\ end", {"name"}).with({"say \"hi\"\n\\"}).inc();
  EXPECT_EQ(registry.render(),
            "# HELP stargate_x_total line one\\nline two \\\\ end\n"
            "# TYPE stargate_x_total counter\n"
            "stargate_x_total{name=\"say \\\"hi\\\"\\n\\\\\"} 1\n");
}

TEST(TextFormatTest, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-1.5), "-1.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.00025), "0.00025");
  EXPECT_EQ(format_value(0.00001), "1e-05");
  EXPECT_EQ(format_value(123456789), "123456789");
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(TextFormatTest, CounterNameGivenWithTotalIsTheSameCounter) {
  Registry registry;
  auto& a = registry.counter("stargate_bytes_sent_total", "Bytes sent");
  auto& b = registry.counter("stargate_bytes_sent", "Bytes sent");
  EXPECT_EQ(&a, &b);
  a.inc(7);
  EXPECT_EQ(registry.render(), "# HELP stargate_bytes_sent_total Bytes sent\n# TYPE stargate_bytes_sent_total counter\nstargate_bytes_sent_total 7\n");
}

}  // namespace
}  // namespace stargate::metrics
