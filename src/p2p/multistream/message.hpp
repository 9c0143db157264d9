#pragma once
// multistream-select 1.0 wire codec: every message is uvarint(length) + UTF-8 text + '\n', where
// the length counts the text and the newline. No I/O here; see multistream.hpp for the negotiation.
#include "base/bytes.hpp"
#include "base/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::multistream {

inline constexpr std::string_view kProtocolId = "/multistream/1.0.0";
inline constexpr std::string_view kNotAvailable = "na";
inline constexpr std::string_view kList = "ls";

// Largest accepted message, counting the trailing '\n' (as go-multistream and js-libp2p do).
inline constexpr std::size_t kMaxMessageLength = 1024;

// A line may carry any UTF-8 text up to kMaxMessageLength - 1 bytes with no control characters
// (C0, DEL, C1) and no malformed, overlong or surrogate sequences. Returns the reason it may not.
std::optional<std::string> invalid_line_reason(std::string_view line);

// Appends uvarint(line.size() + 1) + line + '\n'. The caller passes a line that is valid.
void append_message(Bytes& out, std::string_view line);

// The answer to "ls", as js-libp2p and rust-libp2p send it: one message whose body is every
// protocol as its own length-prefixed line, then a final '\n'.
void append_list_response(Bytes& out, const std::vector<std::string>& protocols);

// Splits a byte stream into lines, one message at a time, never reading past the end of the
// message it returns (the bytes after it may belong to another protocol). Keeps a partial message
// between calls, so input may arrive in pieces of any size.
class LineReader {
 public:
  // Consumes bytes of `in` from `used` on, advancing `used`. Returns the line (without '\n') once a
  // whole message has been read, nullopt when every byte was consumed and more are needed, or an
  // error for an oversized, empty, unterminated or non-printable message.
  Result<std::optional<std::string>> next(BytesView in, std::size_t& used);

 private:
  Bytes partial_;                         // the varint so far, then the body so far
  std::optional<std::size_t> body_size_;  // known once the varint is complete
};

}  // namespace stargate::p2p::multistream
