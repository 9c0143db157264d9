#include "base/base58.hpp"

#include <algorithm>
#include <array>

#include "base/quote.hpp"

namespace stargate {

namespace {

constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto kReverse = make_reverse();

}  // namespace

std::string base58btc_encode(BytesView data) {
  // Leading zero bytes carry no numeric value, so the format spells each one as a '1'.
  const auto zeros = static_cast<std::size_t>(
      std::find_if(data.begin(), data.end(), [](std::uint8_t b) { return b != 0; }) - data.begin());

  // Base-58 digits, least significant first; log(256)/log(58) < 1.37.
  std::vector<std::uint8_t> digits;
  digits.reserve((data.size() - zeros) * 137 / 100 + 1);
  for (std::size_t i = zeros; i < data.size(); ++i) {
    std::uint32_t carry = data[i];
    for (auto& d : digits) {
      carry += static_cast<std::uint32_t>(d) << 8;
      d = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<std::uint8_t>(carry % 58));
      carry /= 58;
    }
  }

  std::string out(zeros, '1');
  out.reserve(zeros + digits.size());
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

Result<Bytes> base58btc_decode(std::string_view text) {
  if (text.size() > kMaxBase58DecodeChars) {
    return make_error("base58: input too long (" + std::to_string(text.size()) + " characters, max " +
                      std::to_string(kMaxBase58DecodeChars) + ")");
  }
  const auto ones = static_cast<std::size_t>(
      std::find_if(text.begin(), text.end(), [](char c) { return c != '1'; }) - text.begin());

  // Base-256 bytes, least significant first.
  std::vector<std::uint8_t> bytes;
  bytes.reserve(text.size());
  for (std::size_t i = ones; i < text.size(); ++i) {
    const int digit = kReverse[static_cast<unsigned char>(text[i])];
    if (digit < 0) {
      return make_error("base58: invalid character " + quote_char(text[i]) + " at position " +
                        std::to_string(i));
    }
    auto carry = static_cast<std::uint32_t>(digit);
    for (auto& b : bytes) {
      carry += static_cast<std::uint32_t>(b) * 58;
      b = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }

  Bytes out(ones, 0);
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

}  // namespace stargate
