#include "metrics/label_value.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace stargate::metrics {

namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  auto continuation = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  std::uint8_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
    if (lead == 0xED && byte(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;  // overlong
    if (lead == 0xF4 && byte(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string sanitize_label_value(std::string_view value) {
  constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(std::min(value.size(), kMaxLabelValueBytes));
  while (!value.empty()) {
    std::size_t n = utf8_sequence(value);
    std::string_view piece = n ? value.substr(0, n) : replacement;
    if (out.size() + piece.size() > kMaxLabelValueBytes) break;
    out += piece;
    value.remove_prefix(n ? n : 1);
  }
  return out;
}

std::vector<std::string> sanitize_label_values(const FamilyMeta& family, std::span<const std::string_view> values) {
  if (values.size() != family.label_names.size())
    throw std::invalid_argument("metric family " + family.name + " has " + std::to_string(family.label_names.size()) +
                                " labels, given " + std::to_string(values.size()) + " values");
  std::vector<std::string> out;
  out.reserve(values.size());
  for (auto v : values) out.push_back(sanitize_label_value(v));
  return out;
}

}  // namespace stargate::metrics
