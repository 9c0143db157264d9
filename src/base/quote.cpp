#include "base/quote.hpp"

namespace stargate {

namespace {

void append_escaped(std::string& out, char c) {
  static constexpr char digits[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\'' && c != '\\') {
    out.push_back(c);
    return;
  }
  out += "\\x";
  out.push_back(digits[byte >> 4]);
  out.push_back(digits[byte & 0x0f]);
}

}  // namespace

std::string quote(std::string_view text, std::size_t max_chars) {
  std::string out = "\"";
  const bool cut = text.size() > max_chars;
  for (char c : cut ? text.substr(0, max_chars) : text) append_escaped(out, c);
  out.push_back('"');
  if (cut) out += "...";
  return out;
}

std::string quote_char(char c) {
  std::string out = "'";
  append_escaped(out, c);
  out.push_back('\'');
  return out;
}

}  // namespace stargate
