#pragma once
// Collector callbacks export numbers that some other struct already keeps (RelayCounters, pool
// statistics, a state's size) at scrape time, so nothing is counted twice:
//
//   registry.add_collector([&relay](metrics::Collection& out) {
//     const auto& c = relay.counters();
//     out.counter("stargate_relay_reservations_granted", "New reservations granted").add(c.reservations_granted);
//     auto refusals = out.counter("stargate_relay_refusals", "Requests refused, by reason", {"reason"});
//     for (std::size_t i = 0; i < kRefusalReasons; ++i)
//       refusals.add({to_string(RefusalReason(i))}, c.refusals[i]);
//     out.gauge("stargate_relay_circuits", "Open circuits").add(relay.circuit_count());
//   });
//
// Names and label names are checked as for registered families (std::invalid_argument); label
// values are sanitized the same way. A collector exports what its owner already bounds, so no
// cardinality bound applies; it must not give one label combination twice.
#include "metrics/snapshot.hpp"

#include <deque>
#include <functional>
#include <initializer_list>
#include <string_view>

namespace stargate::metrics {

// The samples of one collected family; a cheap handle, valid during the callback.
class CollectedFamily {
 public:
  explicit CollectedFamily(FamilySnapshot& family) : family_(&family) {}
  CollectedFamily& add(double value);  // for a family without labels
  CollectedFamily& add(std::initializer_list<std::string_view> label_values, double value);

 private:
  FamilySnapshot* family_;
};

class Collection {
 public:
  // `name` of a counter may be given with or without "_total".
  CollectedFamily counter(std::string_view name, std::string_view help, std::initializer_list<std::string_view> label_names = {});
  CollectedFamily gauge(std::string_view name, std::string_view help, std::initializer_list<std::string_view> label_names = {});

  // The families collected, each with its samples sorted by label values.
  std::deque<FamilySnapshot> take();

 private:
  CollectedFamily family(Type type, std::string_view name, std::string_view help, std::initializer_list<std::string_view> label_names);
  std::deque<FamilySnapshot> families_;  // a deque: handles stay valid as families are added
};

// Runs on the thread that takes the snapshot (the HTTP server's, for a scrape): it must read its
// struct safely from there, and must not add or remove collectors.
using Collector = std::function<void(Collection&)>;

}  // namespace stargate::metrics
