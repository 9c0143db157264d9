#pragma once
// base58btc (the Bitcoin alphabet), as used for libp2p peer IDs and multibase 'z'.
#include <cstddef>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace stargate {

// Base conversion is quadratic in the length, so decoding refuses longer input outright rather
// than let a hostile peer spend our CPU; peer IDs and certhashes are well under 100 characters.
inline constexpr std::size_t kMaxBase58DecodeChars = 512;

std::string base58btc_encode(BytesView data);
// The error names the first bad character and its position.
Result<Bytes> base58btc_decode(std::string_view text);

}  // namespace stargate
