#include "metrics/collector.hpp"

#include "metrics/label_value.hpp"
#include "metrics/names.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace stargate::metrics {

CollectedFamily& CollectedFamily::add(double value) { return add({}, value); }

CollectedFamily& CollectedFamily::add(std::initializer_list<std::string_view> label_values, double value) {
  auto values = std::span<const std::string_view>(label_values.begin(), label_values.size());
  family_->samples.push_back(Sample{sanitize_label_values(*family_, values), value});
  return *this;
}

CollectedFamily Collection::counter(std::string_view name, std::string_view help, std::initializer_list<std::string_view> label_names) {
  return family(Type::counter, name, help, label_names);
}

CollectedFamily Collection::gauge(std::string_view name, std::string_view help, std::initializer_list<std::string_view> label_names) {
  return family(Type::gauge, name, help, label_names);
}

CollectedFamily Collection::family(Type type, std::string_view name, std::string_view help,
                                   std::initializer_list<std::string_view> label_names) {
  auto labels = std::span<const std::string_view>(label_names.begin(), label_names.size());
  FamilySnapshot& f = families_.emplace_back();
  static_cast<FamilyMeta&>(f) = checked_meta(type, name, help, labels);
  return CollectedFamily(f);
}

std::deque<FamilySnapshot> Collection::take() {
  for (auto& f : families_)
    std::stable_sort(f.samples.begin(), f.samples.end(),
                     [](const Sample& a, const Sample& b) { return a.label_values < b.label_values; });
  return std::exchange(families_, {});
}

}  // namespace stargate::metrics
