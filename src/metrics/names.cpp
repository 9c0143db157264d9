#include "metrics/names.hpp"

#include "metrics/histogram.hpp"

#include <algorithm>
#include <stdexcept>

namespace stargate::metrics {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void bad(std::string_view what, std::string_view name) {
  throw std::invalid_argument("invalid " + std::string(what) + " '" + std::string(name) + "'");
}

}  // namespace

void check_metric_name(std::string_view name) {
  if (name.empty() || !(is_letter(name[0]) || name[0] == ':')) bad("metric name", name);
  for (char c : name)
    if (!is_letter(c) && !is_digit(c) && c != ':') bad("metric name", name);
}

void check_label_name(std::string_view name) {
  if (name.empty() || !is_letter(name[0]) || name.starts_with("__") || name == "le") bad("label name", name);
  for (char c : name)
    if (!is_letter(c) && !is_digit(c)) bad("label name", name);
}

std::vector<std::string> check_label_names(std::span<const std::string_view> names) {
  std::vector<std::string> out;
  for (auto name : names) {
    check_label_name(name);
    if (std::find(out.begin(), out.end(), name) != out.end()) bad("repeated label name", name);
    out.emplace_back(name);
  }
  return out;
}

FamilyMeta checked_meta(Type type, std::string_view name, std::string_view help, std::span<const std::string_view> label_names,
                        std::vector<double> bounds) {
  FamilyMeta meta;
  meta.name = type == Type::counter ? counter_base_name(name) : std::string(name);
  check_metric_name(meta.name);
  meta.help = std::string(help);
  meta.type = type;
  meta.label_names = check_label_names(label_names);
  if (type == Type::histogram) check_bounds(bounds);
  meta.bounds = std::move(bounds);
  return meta;
}

std::string counter_base_name(std::string_view name) {
  constexpr std::string_view suffix = "_total";
  if (name.size() > suffix.size() && name.ends_with(suffix)) name.remove_suffix(suffix.size());
  return std::string(name);
}

}  // namespace stargate::metrics
