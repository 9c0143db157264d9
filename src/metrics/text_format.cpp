#include "metrics/text_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>

namespace stargate::metrics {

namespace {

std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out += c;
  }
  return out;
}

// `{a="x",b="y"}`, with an optional extra label (the histogram's le) last; nothing when empty.
std::string label_set(std::span<const std::string> names, std::span<const std::string> values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i] + "=\"" + escape_label_value(values[i]) + '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"" + std::string(le) + '"';
  }
  return out + '}';
}

void line(std::string& out, std::string_view name, const std::string& labels, const std::string& value) {
  out.append(name).append(labels).append(" ").append(value).append("\n");
}

void render_histogram(std::string& out, const FamilySnapshot& family) {
  for (const auto& h : family.histograms) {
    for (std::size_t i = 0; i < family.bounds.size(); ++i)
      line(out, family.name + "_bucket", label_set(family.label_names, h.label_values, format_value(family.bounds[i])),
           std::to_string(h.cumulative[i]));
    line(out, family.name + "_bucket", label_set(family.label_names, h.label_values, "+Inf"), std::to_string(h.count));
    auto labels = label_set(family.label_names, h.label_values);
    line(out, family.name + "_sum", labels, format_value(h.sum));
    line(out, family.name + "_count", labels, std::to_string(h.count));
  }
}

}  // namespace

std::string escape_help(std::string_view text) { return escape(text, false); }

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::optional<std::int64_t> as_whole_number(double value) {
  constexpr double exact = 9007199254740992.0;  // 2^53: integers up to here are exact in a double
  if (std::isfinite(value) && value == std::trunc(value) && std::fabs(value) <= exact) return static_cast<std::int64_t>(value);
  return std::nullopt;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers (counts, bytes) in full; others as Go's %g does, like the Prometheus clients.
  if (auto whole = as_whole_number(value)) return std::to_string(*whole);
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
  return std::string(buffer, result.ptr);
}

std::string render_text(const Snapshot& snapshot) {
  std::string out;
  for (const auto& family : snapshot) {
    auto name = family.exposed_name();
    out += "# HELP " + name + ' ' + escape_help(family.help) + '\n';
    out += "# TYPE " + name + ' ' + std::string(to_string(family.type)) + '\n';
    if (family.type == Type::histogram) {
      render_histogram(out, family);
      continue;
    }
    for (const auto& s : family.samples) line(out, name, label_set(family.label_names, s.label_values), format_value(s.value));
  }
  return out;
}

}  // namespace stargate::metrics
