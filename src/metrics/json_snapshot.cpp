#include "metrics/json_snapshot.hpp"

#include "metrics/text_format.hpp"

#include <boost/json.hpp>

#include <cmath>

namespace stargate::metrics {

namespace json = boost::json;

namespace {

json::value number(double value) {
  if (!std::isfinite(value)) return json::string(format_value(value));
  if (auto whole = as_whole_number(value)) return *whole;
  return value;
}

json::object labels(const FamilySnapshot& family, const std::vector<std::string>& values) {
  json::object out;
  for (std::size_t i = 0; i < family.label_names.size(); ++i) out[family.label_names[i]] = values[i];
  return out;
}

json::object histogram(const FamilySnapshot& family, const HistogramSample& h) {
  json::object buckets;
  for (std::size_t i = 0; i < family.bounds.size(); ++i) buckets[format_value(family.bounds[i])] = h.cumulative[i];
  buckets["+Inf"] = h.count;
  return json::object{{"labels", labels(family, h.label_values)}, {"buckets", std::move(buckets)}, {"sum", number(h.sum)},
                      {"count", h.count}};
}

}  // namespace

json::value to_json(const Snapshot& snapshot) {
  json::object out;
  for (const auto& family : snapshot) {
    json::array samples;
    for (const auto& s : family.samples)
      samples.push_back(json::object{{"labels", labels(family, s.label_values)}, {"value", number(s.value)}});
    for (const auto& h : family.histograms) samples.push_back(histogram(family, h));
    json::array label_names;
    for (const auto& n : family.label_names) label_names.push_back(json::string(n));
    out[family.exposed_name()] = json::object{{"type", to_string(family.type)},
                                              {"help", family.help},
                                              {"labels", std::move(label_names)},
                                              {"samples", std::move(samples)}};
  }
  return out;
}

}  // namespace stargate::metrics
