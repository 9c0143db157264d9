#include "metrics/registry.hpp"

#include "base/log.hpp"
#include "metrics/names.hpp"
#include "metrics/text_format.hpp"

#include <algorithm>
#include <stdexcept>

namespace stargate::metrics {

namespace {

FamilyInfo make_info(Type type, std::string_view name, std::string_view help, std::initializer_list<std::string_view> label_names,
                     std::vector<double> bounds, FamilyOptions options) {
  auto labels = std::span<const std::string_view>(label_names.begin(), label_names.size());
  return FamilyInfo{checked_meta(type, name, help, labels, std::move(bounds)), options};
}

bool same_shape(const FamilyInfo& a, const FamilyInfo& b) {
  return a.type == b.type && a.label_names == b.label_names && a.bounds == b.bounds;
}

}  // namespace

template <class Metric>
Family<Metric>& Registry::family(FamilyInfo info, typename Family<Metric>::Factory make) {
  std::lock_guard lock(families_mutex_);
  auto it = families_.find(info.name);
  if (it != families_.end()) {
    if (!same_shape(it->second->info(), info))
      throw std::invalid_argument("metric " + info.name + " is already registered with another type, labels or buckets");
    return static_cast<Family<Metric>&>(*it->second);  // same type, hence same Metric
  }
  auto name = info.name;
  auto owned = std::make_unique<Family<Metric>>(std::move(info), std::move(make));
  auto& ref = *owned;
  families_.emplace(std::move(name), std::move(owned));
  return ref;
}

Family<Counter>& Registry::counter_family(std::string_view name, std::string_view help,
                                          std::initializer_list<std::string_view> label_names, FamilyOptions options) {
  auto info = make_info(Type::counter, name, help, label_names, {}, options);
  return family<Counter>(std::move(info), [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge_family(std::string_view name, std::string_view help,
                                      std::initializer_list<std::string_view> label_names, FamilyOptions options) {
  auto info = make_info(Type::gauge, name, help, label_names, {}, options);
  return family<Gauge>(std::move(info), [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram_family(std::string_view name, std::string_view help,
                                              std::initializer_list<std::string_view> label_names, std::vector<double> bounds,
                                              FamilyOptions options) {
  auto info = make_info(Type::histogram, name, help, label_names, std::move(bounds), options);
  auto shared = std::make_shared<const std::vector<double>>(info.bounds);
  return family<Histogram>(std::move(info), [shared] { return std::make_unique<Histogram>(shared); });
}

Counter& Registry::counter(std::string_view name, std::string_view help) { return counter_family(name, help, {}).with({}); }

Gauge& Registry::gauge(std::string_view name, std::string_view help) { return gauge_family(name, help, {}).with({}); }

Histogram& Registry::histogram(std::string_view name, std::string_view help, std::vector<double> bounds) {
  return histogram_family(name, help, {}, std::move(bounds)).with({});
}

CollectorId Registry::add_collector(Collector collector) {
  std::lock_guard lock(collectors_mutex_);
  auto id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::remove_collector(CollectorId id) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.erase(id);
}

Snapshot Registry::snapshot() const {
  Snapshot out;
  {
    std::lock_guard lock(families_mutex_);
    for (const auto& [name, family] : families_) out.push_back(family->snapshot());
  }
  Collection collected;
  {
    std::lock_guard lock(collectors_mutex_);
    for (const auto& [id, collector] : collectors_) collector(collected);
  }
  for (auto& f : collected.take()) {
    auto taken = [&](const FamilySnapshot& g) { return g.name == f.name; };
    if (std::any_of(out.begin(), out.end(), taken)) {
      log::get("metrics")->warn("collected metric {} left out: the name is already taken", f.name);
      continue;
    }
    out.push_back(std::move(f));
  }
  std::stable_sort(out.begin(), out.end(), [](const FamilySnapshot& a, const FamilySnapshot& b) { return a.name < b.name; });
  return out;
}

std::string Registry::render() const { return render_text(snapshot()); }

}  // namespace stargate::metrics
