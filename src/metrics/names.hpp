#pragma once
// Metric and label names as Prometheus accepts them (data model: metric names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, and label names starting with
// "__" are reserved). Names are chosen by the program, never by a peer, so a bad one is a
// programming error: the checks throw std::invalid_argument naming it.
#include "metrics/snapshot.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::metrics {

void check_metric_name(std::string_view name);
void check_label_name(std::string_view name);  // also refuses "le", which histograms use
// Checks each name and that none repeats; returns them as strings.
std::vector<std::string> check_label_names(std::span<const std::string_view> names);

// The description of a family after checking its name (a counter's loses "_total") and label
// names, and for histograms its bounds.
FamilyMeta checked_meta(Type type, std::string_view name, std::string_view help, std::span<const std::string_view> label_names,
                        std::vector<double> bounds = {});

// A counter's family name without the "_total" suffix the exposition adds (a name given with
// the suffix loses it, so "x_total" and "x" name one counter).
std::string counter_base_name(std::string_view name);

}  // namespace stargate::metrics
