#include "metrics/family.hpp"

#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace stargate::metrics {
namespace {

TEST(FamilyTest, SameLabelValuesGiveTheSameChild) {
  Registry registry;
  auto& calls = registry.counter_family("stargate_calls", "Calls", {"tier", "outcome"});
  auto& a = calls.with({"nats", "ok"});
  auto& b = calls.with({"nats", "ok"});
  auto& c = calls.with({"nats", "error"});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(calls.size(), 2u);
}

TEST(FamilyTest, WrongNumberOfLabelValuesThrows) {
  Registry registry;
  auto& calls = registry.counter_family("stargate_calls", "Calls", {"tier", "outcome"});
  EXPECT_THROW(calls.with({"nats"}), std::invalid_argument);
  EXPECT_THROW(calls.with({"nats", "ok", "extra"}), std::invalid_argument);
}

TEST(FamilyTest, CardinalityIsBoundedByAnOverflowChild) {
  Registry registry;
  auto& by_peer = registry.counter_family("stargate_peer_calls", "Calls by peer", {"peer"}, FamilyOptions{.max_children = 3});
  for (int i = 0; i < 1000; ++i) by_peer.with({"peer-" + std::to_string(i)}).inc();
  EXPECT_EQ(by_peer.size(), 4u);  // three peers and the overflow child
  EXPECT_EQ(by_peer.overflowed(), 997u);
  // Known combinations keep their own child after the bound is reached.
  by_peer.with({"peer-1"}).inc();
  EXPECT_EQ(by_peer.overflowed(), 997u);
  EXPECT_EQ(registry.render(),
            "# HELP stargate_peer_calls_total Calls by peer\n"
            "# TYPE stargate_peer_calls_total counter\n"
            "stargate_peer_calls_total{peer=\"__overflow__\"} 997\n"
            "stargate_peer_calls_total{peer=\"peer-0\"} 1\n"
            "stargate_peer_calls_total{peer=\"peer-1\"} 2\n"
            "stargate_peer_calls_total{peer=\"peer-2\"} 1\n");
}

TEST(FamilyTest, LabelValuesAreSanitizedAndBoundedInLength) {
  Registry registry;
  auto& f = registry.gauge_family("stargate_g", "G", {"name"});
  f.with({std::string(1000, 'x')}).set(1);
  f.with({"bad\xff" "byte"}).set(2);
  auto snapshot = registry.snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  ASSERT_EQ(snapshot[0].samples.size(), 2u);
  EXPECT_EQ(snapshot[0].samples[0].label_values[0], "bad\xEF\xBF\xBD" "byte");
  EXPECT_EQ(snapshot[0].samples[1].label_values[0], std::string(128, 'x'));
}

TEST(FamilyTest, ZeroMaxChildrenIsRefused) {
  Registry registry;
  EXPECT_THROW(registry.counter_family("stargate_c", "C", {"a"}, FamilyOptions{.max_children = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace stargate::metrics
