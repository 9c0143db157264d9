#pragma once
// Byte containers used across every layer.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stargate {

using Bytes = std::vector<std::uint8_t>;
using BytesView = std::span<const std::uint8_t>;
using MutableBytesView = std::span<std::uint8_t>;

inline BytesView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(BytesView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline void append(Bytes& out, BytesView more) { out.insert(out.end(), more.begin(), more.end()); }

std::string to_hex(BytesView b);
// Returns false on odd length or a non-hex character.
bool from_hex(std::string_view hex, Bytes& out);

}  // namespace stargate
