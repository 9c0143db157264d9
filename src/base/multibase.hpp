#pragma once
// Multibase: a one-character prefix naming the encoding of the text that follows. Only the
// encodings libp2p meets in practice are supported (peer IDs as CIDs, certhashes).
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace stargate {

// Values are the prefix characters.
enum class Multibase : char {
  base16 = 'f',     // lowercase hex
  base32 = 'b',     // RFC 4648 lowercase, no padding
  base58btc = 'z',
  base64 = 'm',     // RFC 4648, no padding
  base64url = 'u',  // RFC 4648 URL-safe alphabet, no padding
};

std::string multibase_encode(Multibase base, BytesView data);
// Strict: unknown prefix, bad character, impossible length or non-canonical trailing bits are errors.
Result<Bytes> multibase_decode(std::string_view text);

}  // namespace stargate
