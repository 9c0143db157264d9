#pragma once
// A metric family: one name, help text and fixed label names, with a child (Counter, Gauge or
// Histogram) per combination of label values. with() looks the child up under a lock; call it
// once and keep the reference (children live as long as the registry), so the hot path is the
// child's atomic add alone.
//
// Cardinality bound: a family holds at most `max_children` label combinations. Past that, every
// new combination is counted into one extra child whose label values are all
// kOverflowLabelValue, so memory stays bounded whatever values a peer manages to feed in, no
// observation is lost from the totals, and the overflow shows in the exposition.
#include "metrics/counter.hpp"
#include "metrics/gauge.hpp"
#include "metrics/histogram.hpp"
#include "metrics/snapshot.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::metrics {

inline constexpr std::size_t kDefaultMaxChildren = 128;
inline constexpr std::string_view kOverflowLabelValue = "__overflow__";

struct FamilyOptions {
  std::size_t max_children = kDefaultMaxChildren;  // at least 1
};

struct FamilyInfo : FamilyMeta {
  FamilyOptions options;
};

class FamilyBase {
 public:
  explicit FamilyBase(FamilyInfo info);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const FamilyInfo& info() const { return info_; }
  // How many with() calls went to the overflow child.
  std::uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
  virtual FamilySnapshot snapshot() const = 0;

 protected:
  // The children's key: sanitized values (label_value.hpp); throws std::invalid_argument when
  // their number differs from the label names'.
  std::vector<std::string> key(std::span<const std::string_view> values) const;
  // Counts an overflow (logging the first) and returns the overflow child's key.
  std::vector<std::string> overflow_key();
  FamilySnapshot empty_snapshot() const;

  mutable std::mutex mutex_;

 private:
  FamilyInfo info_;
  std::atomic<std::uint64_t> overflowed_{0};
};

void append_sample(FamilySnapshot& out, const std::vector<std::string>& values, const Counter& metric);
void append_sample(FamilySnapshot& out, const std::vector<std::string>& values, const Gauge& metric);
void append_sample(FamilySnapshot& out, const std::vector<std::string>& values, const Histogram& metric);

template <class Metric>
class Family final : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<Metric>()>;
  Family(FamilyInfo info, Factory make) : FamilyBase(std::move(info)), make_(std::move(make)) {}

  // The child for these label values (in the order of the label names), made on first use.
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with(std::span<const std::string_view> values) {
    auto k = key(values);
    std::lock_guard lock(mutex_);
    auto it = children_.find(k);
    if (it == children_.end() && children_.size() >= info().options.max_children) {
      k = overflow_key();
      it = children_.find(k);
    }
    if (it == children_.end()) it = children_.emplace(std::move(k), make_()).first;
    return *it->second;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return children_.size();
  }

  FamilySnapshot snapshot() const override {
    auto out = empty_snapshot();
    std::lock_guard lock(mutex_);
    for (const auto& [values, child] : children_) append_sample(out, values, *child);
    return out;
  }

 private:
  Factory make_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;  // sorted: deterministic output
};

}  // namespace stargate::metrics
