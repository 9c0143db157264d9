#include "base/varint.hpp"

namespace stargate {

void append_uvarint(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

std::size_t uvarint_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

Result<std::optional<VarintDecoded>> decode_uvarint(BytesView in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::uint8_t byte = in[i];
    if (i == kMaxUvarintBytes - 1 && (byte & 0x80) != 0) {
      return make_error("varint longer than 9 bytes");
    }
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A zero final group adds nothing: the same value had a shorter encoding.
      if (byte == 0 && i > 0) return make_error("varint not minimally encoded");
      return std::optional<VarintDecoded>{VarintDecoded{value, i + 1}};
    }
  }
  return std::optional<VarintDecoded>{};
}

}  // namespace stargate
