#pragma once
// Unsigned varint (LEB128) as in multiformats/unsigned-varint: at most 9 bytes (63 bits of value)
// and minimal encoding only, so that every value has exactly one wire form.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace stargate {

inline constexpr std::size_t kMaxUvarintBytes = 9;
// The largest value the 9-byte limit can carry (2^63 - 1).
inline constexpr std::uint64_t kMaxUvarintValue = (std::uint64_t{1} << 63) - 1;

struct VarintDecoded {
  std::uint64_t value;
  std::size_t length;  // bytes consumed from the input
};

// Values above kMaxUvarintValue still get their LEB128 form (10 bytes), which decode_uvarint rejects:
// callers that put such values on the wire have a bug; this keeps the encoder total.
void append_uvarint(Bytes& out, std::uint64_t value);
std::size_t uvarint_size(std::uint64_t value);

// ok(nullopt) when `in` holds only a prefix of a varint (need more bytes); error when overlong
// (> 9 bytes) or non-minimal (a trailing 0x00 group).
Result<std::optional<VarintDecoded>> decode_uvarint(BytesView in);

}  // namespace stargate
