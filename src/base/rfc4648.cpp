#include "base/rfc4648.hpp"

#include <cstdint>

#include "base/quote.hpp"

namespace stargate {

namespace {

// All four alphabets have a power-of-two size, so each character carries a whole number of
// bits and one bit-buffer codec serves them all.
struct Alphabet {
  std::string_view name;
  std::string_view chars;
  unsigned bits;  // per character: log2(chars.size())
};

constexpr Alphabet kBase16{"base16", "0123456789abcdef", 4};
constexpr Alphabet kBase32{"base32", "abcdefghijklmnopqrstuvwxyz234567", 5};
constexpr Alphabet kBase64{"base64", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 6};
constexpr Alphabet kBase64Url{"base64url",
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 6};

int digit_of(const Alphabet& a, char c) {
  const auto pos = a.chars.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

std::string encode(BytesView data, const Alphabet& a) {
  const std::uint32_t mask = (1u << a.bits) - 1;
  std::string out;
  out.reserve((data.size() * 8 + a.bits - 1) / a.bits);
  std::uint32_t buffer = 0;
  unsigned held = 0;  // bits in `buffer` not yet emitted
  for (auto byte : data) {
    buffer = (buffer << 8) | byte;
    held += 8;
    while (held >= a.bits) {
      held -= a.bits;
      out.push_back(a.chars[(buffer >> held) & mask]);
    }
    buffer &= (1u << held) - 1;
  }
  if (held > 0) out.push_back(a.chars[(buffer << (a.bits - held)) & mask]);
  return out;
}

Result<Bytes> decode(std::string_view text, const Alphabet& a) {
  Bytes out;
  out.reserve(text.size() * a.bits / 8);
  std::uint32_t buffer = 0;
  unsigned held = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int digit = digit_of(a, text[i]);
    if (digit < 0) {
      return make_error(std::string(a.name) + ": invalid character " + quote_char(text[i]) +
                        " at position " + std::to_string(i));
    }
    buffer = (buffer << a.bits) | static_cast<std::uint32_t>(digit);
    held += a.bits;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<std::uint8_t>(buffer >> held));
      buffer &= (1u << held) - 1;
    }
  }
  // A whole character left over means a length no encoder produces; set padding bits mean a
  // second spelling of the same bytes.
  if (held >= a.bits) {
    return make_error(std::string(a.name) + ": invalid length " + std::to_string(text.size()));
  }
  if (buffer != 0) return make_error(std::string(a.name) + ": non-zero padding bits in last character");
  return out;
}

}  // namespace

std::string base16_encode(BytesView data) { return encode(data, kBase16); }
Result<Bytes> base16_decode(std::string_view text) { return decode(text, kBase16); }
std::string base32_encode(BytesView data) { return encode(data, kBase32); }
Result<Bytes> base32_decode(std::string_view text) { return decode(text, kBase32); }
std::string base64_encode(BytesView data) { return encode(data, kBase64); }
Result<Bytes> base64_decode(std::string_view text) { return decode(text, kBase64); }
std::string base64url_encode(BytesView data) { return encode(data, kBase64Url); }
Result<Bytes> base64url_decode(std::string_view text) { return decode(text, kBase64Url); }

}  // namespace stargate
