#pragma once
// uvarint-length-prefixed messages over a ByteStream (identify, relay, kad, a2a ...).
#include "p2p/host/byte_stream.hpp"

#include <optional>

namespace stargate::p2p {

// Reads one message; a length over `max_size` is refused before anything is allocated.
// Throws ErrorException on a bad prefix, an oversized message or a stream that ends early.
awaitable<Bytes> read_length_prefixed(ByteStream& stream, std::size_t max_size);
// Returns std::nullopt instead of throwing when the stream ends cleanly before the first byte.
awaitable<std::optional<Bytes>> read_length_prefixed_or_eof(ByteStream& stream, std::size_t max_size);
awaitable<void> write_length_prefixed(ByteStream& stream, BytesView message);

}  // namespace stargate::p2p
