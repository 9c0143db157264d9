#include "base/multibase.hpp"

#include "base/base58.hpp"
#include "base/quote.hpp"
#include "base/rfc4648.hpp"

namespace stargate {

std::string multibase_encode(Multibase base, BytesView data) {
  std::string out(1, static_cast<char>(base));
  switch (base) {
    case Multibase::base16: return out + base16_encode(data);
    case Multibase::base32: return out + base32_encode(data);
    case Multibase::base58btc: return out + base58btc_encode(data);
    case Multibase::base64: return out + base64_encode(data);
    case Multibase::base64url: return out + base64url_encode(data);
  }
  return out + base58btc_encode(data);  // unreachable for valid enum values
}

Result<Bytes> multibase_decode(std::string_view text) {
  if (text.empty()) return make_error("multibase: empty string");
  const std::string_view payload = text.substr(1);
  Result<Bytes> decoded = make_error("");
  switch (text.front()) {
    case 'f': decoded = base16_decode(payload); break;
    case 'b': decoded = base32_decode(payload); break;
    case 'z': decoded = base58btc_decode(payload); break;
    case 'm': decoded = base64_decode(payload); break;
    case 'u': decoded = base64url_decode(payload); break;
    default: return make_error("multibase: unsupported prefix " + quote_char(text.front()));
  }
  // Positions in the codec's message count from the first character after the prefix.
  if (!decoded) return make_error("multibase payload after '" + std::string(1, text.front()) +
                                  "' prefix: " + decoded.error().message);
  return decoded;
}

}  // namespace stargate
