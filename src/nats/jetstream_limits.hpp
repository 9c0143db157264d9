#pragma once
// The bounds a JetStream message is checked against before it is sent, so that an oversized or
// malformed one fails at once with a message that says which bound, instead of as a server error
// after a round trip (or, over max_payload, as a dropped connection). No I/O: sizes in, verdicts
// out. Internal to src/nats.
#include "nats/jetstream_types.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace stargate::nats::detail {

// What nats.c writes for these headers (plus a Nats-Msg-Id when `msg_id` is not empty):
// "NATS/1.0\r\n", "<name>: <value>\r\n" per value, "\r\n"; 0 when there is none (a plain PUB).
std::size_t header_block_size(const Headers& headers, std::string_view msg_id);

// Throws JetStreamError("<what>: ...") for a header name that is empty or holds ':', a space or a
// control character, or a value with CR or LF (nats.c would send it altered).
void check_headers(const Headers& headers, const std::string& what);

// Throws JetStreamError("<what>: N bytes (payload P + headers H) exceed the server's max_payload
// of M") when they do.
void check_message_size(const std::string& what, std::size_t payload, std::size_t headers, std::size_t max_payload);

// Subjects and names as the JetStream API takes them: a subject is non-empty tokens separated by
// dots, no spaces; a stream, consumer or bucket name has no '.', '*', '>' or spaces. Throws
// JetStreamError("<what>: ...").
void check_subject(std::string_view subject, const std::string& what);
void check_name(std::string_view name, std::string_view kind, const std::string& what);

}  // namespace stargate::nats::detail
