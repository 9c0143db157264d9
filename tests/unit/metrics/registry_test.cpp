#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace stargate::metrics {
namespace {

TEST(RegistryTest, RegisteringTheSameFamilyAgainReturnsIt) {
  Registry registry;
  auto& a = registry.counter_family("stargate_calls", "Calls", {"tier"});
  auto& b = registry.counter_family("stargate_calls", "Calls", {"tier"});
  EXPECT_EQ(&a, &b);
  auto& h1 = registry.histogram("stargate_d_seconds", "D", {1, 2});
  auto& h2 = registry.histogram("stargate_d_seconds", "D", {1, 2});
  EXPECT_EQ(&h1, &h2);
}

TEST(RegistryTest, ConflictingRegistrationsThrow) {
  Registry registry;
  registry.counter_family("stargate_calls", "Calls", {"tier"});
  EXPECT_THROW(registry.counter_family("stargate_calls", "Calls", {"outcome"}), std::invalid_argument);
  EXPECT_THROW(registry.gauge_family("stargate_calls", "Calls", {"tier"}), std::invalid_argument);
  registry.histogram("stargate_d_seconds", "D", {1, 2});
  EXPECT_THROW(registry.histogram("stargate_d_seconds", "D", {1, 3}), std::invalid_argument);
  EXPECT_THROW(registry.counter("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("stargate_x", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("stargate_h", "x", {2, 1}), std::invalid_argument);
}

// Stands for RelayCounters: a struct that already counts, exported without double bookkeeping.
struct FakeRelayCounters {
  std::uint64_t reservations_granted = 0;
  std::array<std::uint64_t, 2> refusals{};
};

TEST(RegistryTest, CollectorsExportExistingCountersAtScrapeTime) {
  Registry registry;
  FakeRelayCounters counters;
  std::size_t circuits = 0;
  auto id = registry.add_collector([&](Collection& out) {
    out.counter("stargate_relay_reservations_granted_total", "Reservations granted").add(counters.reservations_granted);
    auto refusals = out.counter("stargate_relay_refusals", "Refusals by reason", {"reason"});
    refusals.add({"no_reservation"}, counters.refusals[1]);
    refusals.add({"permission_denied"}, counters.refusals[0]);
    out.gauge("stargate_relay_circuits", "Open circuits").add(static_cast<double>(circuits));
  });
  counters.reservations_granted = 5;
  counters.refusals = {2, 1};
  circuits = 3;
  EXPECT_EQ(registry.render(),
            "# HELP stargate_relay_circuits Open circuits\n"
            "# TYPE stargate_relay_circuits gauge\n"
            "stargate_relay_circuits 3\n"
            "# HELP stargate_relay_refusals_total Refusals by reason\n"
            "# TYPE stargate_relay_refusals_total counter\n"
            "stargate_relay_refusals_total{reason=\"no_reservation\"} 1\n"
            "stargate_relay_refusals_total{reason=\"permission_denied\"} 2\n"
            "# HELP stargate_relay_reservations_granted_total Reservations granted\n"
            "# TYPE stargate_relay_reservations_granted_total counter\n"
            "stargate_relay_reservations_granted_total 5\n");
  counters.reservations_granted = 6;
  EXPECT_NE(registry.render().find("stargate_relay_reservations_granted_total 6\n"), std::string::npos);
  registry.remove_collector(id);
  EXPECT_EQ(registry.render(), "");
}

TEST(RegistryTest, CollectedFamilyCannotShadowARegisteredOne) {
  Registry registry;
  registry.counter("stargate_calls", "Calls").inc();
  registry.add_collector([](Collection& out) {
    out.gauge("stargate_calls", "Shadow").add(99);
    out.gauge("stargate_other", "Other").add(1);
  });
  auto snapshot = registry.snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].name, "stargate_calls");
  EXPECT_EQ(snapshot[0].type, Type::counter);
  EXPECT_EQ(snapshot[1].name, "stargate_other");
}

TEST(RegistryTest, CollectorMistakesThrow) {
  Registry registry;
  registry.add_collector([](Collection& out) { out.counter("stargate_c", "C", {"a"}).add(1); });
  EXPECT_THROW(registry.snapshot(), std::invalid_argument);
}

}  // namespace
}  // namespace stargate::metrics
