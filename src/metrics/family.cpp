#include "metrics/family.hpp"

#include "base/log.hpp"
#include "metrics/label_value.hpp"

#include <stdexcept>

namespace stargate::metrics {

FamilyBase::FamilyBase(FamilyInfo info) : info_(std::move(info)) {
  if (info_.options.max_children == 0) throw std::invalid_argument("metric family " + info_.name + ": max_children must be at least 1");
}

std::vector<std::string> FamilyBase::key(std::span<const std::string_view> values) const {
  return sanitize_label_values(info_, values);
}

std::vector<std::string> FamilyBase::overflow_key() {
  if (overflowed_.fetch_add(1, std::memory_order_relaxed) == 0)
    log::get("metrics")->warn("metric family {} reached its bound of {} label combinations; further ones are counted under \"{}\"",
                              info_.name, info_.options.max_children, kOverflowLabelValue);
  return std::vector<std::string>(info_.label_names.size(), std::string(kOverflowLabelValue));
}

FamilySnapshot FamilyBase::empty_snapshot() const {
  FamilySnapshot out;
  static_cast<FamilyMeta&>(out) = info_;
  return out;
}

void append_sample(FamilySnapshot& out, const std::vector<std::string>& values, const Counter& metric) {
  out.samples.push_back(Sample{values, static_cast<double>(metric.value())});
}

void append_sample(FamilySnapshot& out, const std::vector<std::string>& values, const Gauge& metric) {
  out.samples.push_back(Sample{values, metric.value()});
}

void append_sample(FamilySnapshot& out, const std::vector<std::string>& values, const Histogram& metric) {
  auto sample = metric.sample();
  sample.label_values = values;
  out.histograms.push_back(std::move(sample));
}

}  // namespace stargate::metrics
