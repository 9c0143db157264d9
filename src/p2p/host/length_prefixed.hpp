#pragma once
// uvarint-length-prefixed messages over a ByteStream (identify, relay, kad, a2a ...).
#include "base/result.hpp"
#include "p2p/host/byte_stream.hpp"

#include <functional>
#include <optional>

namespace stargate::p2p {

// Thrown when a length prefix announces more than the reader accepts (nothing of the message has
// been read then): protocols with an error reply (a2a) answer it precisely.
class MessageTooLarge : public ErrorException {
 public:
  MessageTooLarge(std::uint64_t size, std::size_t limit);
  std::uint64_t size;
  std::size_t limit;
};

// Runs once a message's length is known, before its body is read: a service reserves the memory
// there (and throws to refuse the message).
using BeforeBody = std::function<void(std::size_t)>;

// Reads one message; a length over `max_size` is refused before anything is allocated.
// Throws MessageTooLarge for an oversized message, ErrorException on a bad prefix or a stream
// that ends early.
awaitable<Bytes> read_length_prefixed(ByteStream& stream, std::size_t max_size);
awaitable<Bytes> read_length_prefixed(ByteStream& stream, std::size_t max_size, const BeforeBody& before_body);
// Returns std::nullopt instead of throwing when the stream ends cleanly before the first byte.
awaitable<std::optional<Bytes>> read_length_prefixed_or_eof(ByteStream& stream, std::size_t max_size);
awaitable<std::optional<Bytes>> read_length_prefixed_or_eof(ByteStream& stream, std::size_t max_size,
                                                            const BeforeBody& before_body);
awaitable<void> write_length_prefixed(ByteStream& stream, BytesView message);

}  // namespace stargate::p2p
