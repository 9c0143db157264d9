#include "p2p/multistream/message.hpp"

#include "base/varint.hpp"

#include <algorithm>

namespace stargate::p2p::multistream {

namespace {

// Length of the UTF-8 sequence at s[i] and its code point, or 0 when it is malformed, overlong,
// a surrogate or above U+10FFFF.
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n;
  char32_t min;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::optional<std::string> invalid_line_reason(std::string_view line) {
  if (line.size() + 1 > kMaxMessageLength) return "line longer than 1023 bytes";
  for (std::size_t i = 0; i < line.size();) {
    char32_t cp = 0;
    const std::size_t n = decode_utf8(line, i, cp);
    if (n == 0) return "line is not valid UTF-8";
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return "line holds a control character";
    i += n;
  }
  return std::nullopt;
}

void append_message(Bytes& out, std::string_view line) {
  append_uvarint(out, line.size() + 1);
  append(out, as_bytes(line));
  out.push_back('\n');
}

void append_list_response(Bytes& out, const std::vector<std::string>& protocols) {
  Bytes body;
  for (const auto& p : protocols) append_message(body, p);
  body.push_back('\n');
  append_uvarint(out, body.size());
  append(out, body);
}

Result<std::optional<std::string>> LineReader::next(BytesView in, std::size_t& used) {
  while (used < in.size()) {
    if (!body_size_) {
      // The varint arrives byte by byte; two bytes already encode up to 16383, so a third one
      // can only announce a message far beyond the limit.
      partial_.push_back(in[used++]);
      auto decoded = decode_uvarint(partial_);
      if (!decoded) return make_error("multistream: bad length prefix: " + decoded.error().message);
      if (!*decoded) {
        if (partial_.size() >= 2) return make_error("multistream: message longer than 1024 bytes");
        continue;
      }
      const std::uint64_t size = (*decoded)->value;
      if (size == 0) return make_error("multistream: empty message (no trailing newline)");
      if (size > kMaxMessageLength) return make_error("multistream: message longer than 1024 bytes");
      body_size_ = static_cast<std::size_t>(size);
      partial_.clear();
      continue;
    }
    const std::size_t take = std::min(*body_size_ - partial_.size(), in.size() - used);
    append(partial_, in.subspan(used, take));
    used += take;
    if (partial_.size() < *body_size_) break;

    body_size_.reset();
    if (partial_.back() != '\n') return make_error("multistream: message without trailing newline");
    std::string line(as_string(partial_).substr(0, partial_.size() - 1));
    partial_.clear();
    if (auto why = invalid_line_reason(line)) return make_error("multistream: " + *why);
    return std::optional<std::string>(std::move(line));
  }
  return std::optional<std::string>();
}

}  // namespace stargate::p2p::multistream
