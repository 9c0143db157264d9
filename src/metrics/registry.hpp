#pragma once
// The metrics of a process: registered families (the program counts into them through handles)
// and collector callbacks (numbers kept elsewhere, read at scrape time). Registration and
// snapshots take a lock; counting through a handle does not.
//
//   metrics::Registry registry;
//   auto& calls = registry.counter_family("stargate_calls", "Calls by tier and outcome", {"tier", "outcome"});
//   auto& nats_ok = calls.with({"nats", "ok"});   // once
//   nats_ok.inc();                                 // per call: one relaxed atomic add
//   auto& latency = registry.histogram_family("stargate_call_duration_seconds", "Call latency by tier", {"tier"});
//   latency.with({"direct"}).observe(elapsed);     // a std::chrono duration, in seconds
//   std::string text = registry.render();          // Prometheus text format 0.0.4
//
// Naming (docs/metrics.md): snake_case with a `stargate_` prefix, base units in the name
// (`_seconds`, `_bytes`), counters named without `_total` (the exposition adds it).
#include "metrics/collector.hpp"
#include "metrics/family.hpp"
#include "metrics/snapshot.hpp"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::metrics {

using CollectorId = std::uint64_t;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each returns the family registered under `name`, made on the first call. Registering a name
  // again with the same type, labels and bounds returns the same family; anything else, or an
  // invalid name, throws std::invalid_argument. References stay valid as long as the registry.
  Family<Counter>& counter_family(std::string_view name, std::string_view help,
                                  std::initializer_list<std::string_view> label_names, FamilyOptions options = {});
  Family<Gauge>& gauge_family(std::string_view name, std::string_view help,
                              std::initializer_list<std::string_view> label_names, FamilyOptions options = {});
  Family<Histogram>& histogram_family(std::string_view name, std::string_view help,
                                      std::initializer_list<std::string_view> label_names,
                                      std::vector<double> bounds = default_latency_bounds(), FamilyOptions options = {});

  // Families without labels: their one child.
  Counter& counter(std::string_view name, std::string_view help);
  Gauge& gauge(std::string_view name, std::string_view help);
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds = default_latency_bounds());

  // Collectors run at each snapshot; remove one before what it reads goes away (removal waits
  // for a snapshot in progress).
  CollectorId add_collector(Collector collector);
  void remove_collector(CollectorId id);

  // Every family, sorted by name. A collected family whose name is already taken is left out
  // (and logged). Exceptions from a collector propagate.
  Snapshot snapshot() const;
  // snapshot() in the Prometheus text format 0.0.4 (text_format.hpp).
  std::string render() const;

 private:
  template <class Metric>
  Family<Metric>& family(FamilyInfo info, typename Family<Metric>::Factory make);

  mutable std::mutex families_mutex_;
  std::map<std::string, std::unique_ptr<FamilyBase>, std::less<>> families_;
  mutable std::mutex collectors_mutex_;  // held while collectors run
  std::map<CollectorId, Collector> collectors_;
  CollectorId next_collector_ = 1;
};

}  // namespace stargate::metrics
