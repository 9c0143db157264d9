#pragma once
// The Prometheus text exposition format, version 0.0.4 (served as
// `text/plain; version=0.0.4; charset=utf-8`): per family a `# HELP` and a `# TYPE` line, then
// one line per sample; histograms as `<name>_bucket{...,le="<bound>"}` (cumulative, ending with
// le="+Inf"), `<name>_sum` and `<name>_count`; counters as `<name>_total`.
#include "metrics/snapshot.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::metrics {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_text(const Snapshot& snapshot);

// HELP text: backslash and line feed escaped as \\ and \n.
std::string escape_help(std::string_view text);
// Label values: backslash, double quote and line feed escaped as \\, \" and \n.
std::string escape_label_value(std::string_view value);
// Whole numbers up to 2^53 as integers ("123456789"), others as the shortest text that reads
// back as the same double in %g style ("0.0005", "1e-05"); "+Inf", "-Inf", "NaN".
std::string format_value(double value);
// The value as an integer when it is a whole number that a double holds exactly (|v| <= 2^53).
std::optional<std::int64_t> as_whole_number(double value);

}  // namespace stargate::metrics
