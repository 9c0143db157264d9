#pragma once
// Quoting of untrusted text for error messages: decoders name the bad input in their errors, and
// that input may be long or hold control bytes, so it is escaped and truncated before it reaches
// a log line or a terminal.
#include <cstddef>
#include <string>
#include <string_view>

namespace stargate {

// `"text"` with non-printable bytes, '"' and '\' escaped (\xNN), cut after `max_chars` input
// bytes with a trailing "..." outside the quotes.
std::string quote(std::string_view text, std::size_t max_chars = 80);

// One character the same way, in single quotes: 'x' or '\xNN'.
std::string quote_char(char c);

}  // namespace stargate
