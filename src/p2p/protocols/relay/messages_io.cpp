#include "p2p/protocols/relay/messages_io.hpp"

#include "p2p/host/length_prefixed.hpp"

namespace stargate::p2p::relay {

awaitable<HopMessage> read_hop(ByteStream& stream) {
  auto body = co_await read_length_prefixed(stream, kMaxMessageSize);
  auto message = decode_hop(body);
  if (!message) throw MalformedMessage(message.error().message);
  co_return std::move(*message);
}

awaitable<StopMessage> read_stop(ByteStream& stream) {
  auto body = co_await read_length_prefixed(stream, kMaxMessageSize);
  auto message = decode_stop(body);
  if (!message) throw MalformedMessage(message.error().message);
  co_return std::move(*message);
}

awaitable<void> write_message(ByteStream& stream, const HopMessage& message) {
  auto body = encode(message);
  co_await write_length_prefixed(stream, body);
}

awaitable<void> write_message(ByteStream& stream, const StopMessage& message) {
  auto body = encode(message);
  co_await write_length_prefixed(stream, body);
}

}  // namespace stargate::p2p::relay
