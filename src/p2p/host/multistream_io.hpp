#pragma once
// multistream-select over a ByteStream: moves bytes between the stream and the sans-IO
// negotiators in p2p/multistream.
#include "p2p/host/byte_stream.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p {

// Proposes `protocols` in order and returns the one the peer accepted. Throws ErrorException
// when the peer refuses them all or breaks the protocol.
awaitable<std::string> select_outbound(ByteStream& stream, std::vector<std::string> protocols);

// Proposes one protocol optimistically: sends the proposal and returns at once, leaving the
// answer to be checked by the stream's first read (ByteStream::expect_selection).
awaitable<void> select_outbound_optimistic(ByteStream& stream, std::string protocol);

// Answers proposals until one is supported; returns it.
awaitable<std::string> select_inbound(ByteStream& stream, std::function<bool(std::string_view)> supports,
                                      std::vector<std::string> listed);

}  // namespace stargate::p2p
