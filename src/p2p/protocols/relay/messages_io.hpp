#pragma once
// Circuit Relay v2 messages over a stream: one uvarint-length-prefixed protobuf per message,
// bounded by kMaxMessageSize. A decode error says what was malformed, so the caller can answer
// MALFORMED_MESSAGE and count it.
#include "p2p/host/byte_stream.hpp"
#include "p2p/protocols/relay/messages.hpp"

namespace stargate::p2p::relay {

// Thrown for a message that arrived whole but does not decode (answered with MALFORMED_MESSAGE);
// I/O failures (reset, end of stream, oversized prefix) throw as usual.
class MalformedMessage : public ErrorException {
 public:
  using ErrorException::ErrorException;
};

awaitable<HopMessage> read_hop(ByteStream& stream);
awaitable<StopMessage> read_stop(ByteStream& stream);
awaitable<void> write_message(ByteStream& stream, const HopMessage& message);
awaitable<void> write_message(ByteStream& stream, const StopMessage& message);

}  // namespace stargate::p2p::relay
