// Bounds checked before a JetStream message is sent (see jetstream_limits.hpp).
#include "nats/jetstream_limits.hpp"

namespace stargate::nats::detail {

namespace {

constexpr std::string_view kNatsHeaderLine = "NATS/1.0\r\n";
constexpr std::string_view kMsgIdHeaderName = "Nats-Msg-Id";

bool is_header_control_char(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

}  // namespace

std::size_t header_block_size(const Headers& headers, std::string_view msg_id) {
  if (headers.empty() && msg_id.empty()) return 0;
  std::size_t size = kNatsHeaderLine.size() + 2;  // the status line and the blank line that ends the block
  for (const auto& [name, value] : headers) size += name.size() + 2 + value.size() + 2;
  if (!msg_id.empty()) size += kMsgIdHeaderName.size() + 2 + msg_id.size() + 2;
  return size;
}

void check_headers(const Headers& headers, const std::string& what) {
  for (const auto& [name, value] : headers) {
    if (name.empty()) throw JetStreamError(what + ": a header has no name", 0);
    for (char c : name) {
      if (c == ':' || c == ' ' || is_header_control_char(c))
        throw JetStreamError(what + ": header name \"" + name + "\" holds ':', a space or a control character", 0);
    }
    if (value.find_first_of("\r\n") != std::string::npos)
      throw JetStreamError(what + ": the value of header " + name + " holds CR or LF", 0);
  }
}

void check_message_size(const std::string& what, std::size_t payload, std::size_t headers, std::size_t max_payload) {
  if (payload + headers <= max_payload) return;
  throw JetStreamError(what + ": " + std::to_string(payload + headers) + " bytes (payload " + std::to_string(payload) +
                           " + headers " + std::to_string(headers) + ") exceed the server's max_payload of " +
                           std::to_string(max_payload),
                       0);
}

void check_subject(std::string_view subject, const std::string& what) {
  bool bad = subject.empty() || subject.front() == '.' || subject.back() == '.' ||
             subject.find("..") != std::string_view::npos;
  for (char c : subject) bad = bad || c == ' ' || is_header_control_char(c);
  if (bad) throw JetStreamError(what + ": \"" + std::string(subject) + "\" is not a valid subject", 0);
}

void check_name(std::string_view name, std::string_view kind, const std::string& what) {
  bool bad = name.empty();
  for (char c : name) bad = bad || c == '.' || c == '*' || c == '>' || c == ' ' || is_header_control_char(c);
  if (bad)
    throw JetStreamError(what + ": \"" + std::string(name) + "\" is not a valid " + std::string(kind) +
                             " name (no '.', '*', '>' or spaces)",
                         0);
}

}  // namespace stargate::nats::detail
