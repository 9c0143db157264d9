#pragma once
// The RFC 4648 family in the forms multibase uses: base16 lowercase, base32 lowercase, base64 and
// base64url, all without '=' padding. Decoding is strict (canonical input only): a length that no
// encoding produces, or non-zero bits left over in the last character, is an error, so every byte
// string has exactly one text form and re-encoding a decoded string gives the same text back.
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace stargate {

std::string base16_encode(BytesView data);
Result<Bytes> base16_decode(std::string_view text);

std::string base32_encode(BytesView data);
Result<Bytes> base32_decode(std::string_view text);

std::string base64_encode(BytesView data);
Result<Bytes> base64_decode(std::string_view text);

std::string base64url_encode(BytesView data);
Result<Bytes> base64url_decode(std::string_view text);

}  // namespace stargate
