#pragma once
// Label values may come from peers (an agent name, a protocol string): they are kept valid UTF-8
// (the exposition format requires it; each invalid byte becomes U+FFFD) and at most
// kMaxLabelValueBytes long (cut at a character boundary), so one value cannot be large either.
#include "metrics/snapshot.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::metrics {

inline constexpr std::size_t kMaxLabelValueBytes = 128;

std::string sanitize_label_value(std::string_view value);
// The values for one sample of `family`, sanitized; throws std::invalid_argument when their
// number differs from its label names'.
std::vector<std::string> sanitize_label_values(const FamilyMeta& family, std::span<const std::string_view> values);

}  // namespace stargate::metrics
