#pragma once
// The numbers of a registry at one moment, as plain data: what the text exposition and the JSON
// snapshot are rendered from, and what collector callbacks fill in.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::metrics {

enum class Type : std::uint8_t { counter, gauge, histogram };
std::string_view to_string(Type type);

struct Sample {
  std::vector<std::string> label_values;  // in the order of the family's label names
  double value = 0;
};

struct HistogramSample {
  std::vector<std::string> label_values;
  std::vector<std::uint64_t> cumulative;  // observations <= each bound of the family, in order
  double sum = 0;
  std::uint64_t count = 0;  // also the "+Inf" bucket
};

// What a family is, apart from its samples.
struct FamilyMeta {
  std::string name;  // for counters without "_total" (see exposed_name())
  std::string help;
  Type type = Type::counter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;  // histograms: the finite upper bounds, ascending

  // The name in the exposition: "<name>_total" for counters, the name otherwise.
  std::string exposed_name() const;
};

struct FamilySnapshot : FamilyMeta {
  std::vector<Sample> samples;  // counters and gauges
  std::vector<HistogramSample> histograms;  // histograms
};

// Sorted by name; within a family, samples sorted by label values.
using Snapshot = std::vector<FamilySnapshot>;

}  // namespace stargate::metrics
