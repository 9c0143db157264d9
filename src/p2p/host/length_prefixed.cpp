#include "p2p/host/length_prefixed.hpp"

#include "base/varint.hpp"

#include <algorithm>

namespace stargate::p2p {

MessageTooLarge::MessageTooLarge(std::uint64_t size_, std::size_t limit_)
    : ErrorException("message of " + std::to_string(size_) + " bytes exceeds the limit of " + std::to_string(limit_)),
      size(size_),
      limit(limit_) {}

awaitable<std::optional<Bytes>> read_length_prefixed_or_eof(ByteStream& stream, std::size_t max_size) {
  const BeforeBody nothing;
  co_return co_await read_length_prefixed_or_eof(stream, max_size, nothing);
}

awaitable<std::optional<Bytes>> read_length_prefixed_or_eof(ByteStream& stream, std::size_t max_size,
                                                            const BeforeBody& before_body) {
  // The prefix is read a byte at a time so that nothing past it is consumed.
  Bytes prefix;
  for (;;) {
    std::uint8_t byte;
    std::size_t n = co_await stream.read_some(MutableBytesView(&byte, 1));
    if (n == 0) {
      if (prefix.empty()) co_return std::nullopt;
      throw ErrorException("stream ended inside a length prefix");
    }
    prefix.push_back(byte);
    auto decoded = decode_uvarint(prefix);
    if (!decoded) throw ErrorException("bad length prefix: " + decoded.error().message);
    if (!*decoded) continue;
    if ((*decoded)->value > max_size) throw MessageTooLarge((*decoded)->value, max_size);
    // Grown as bytes arrive, not allocated from the prefix: a peer that announces a large message
    // on many streams and sends nothing must not make us reserve the memory.
    const auto size = static_cast<std::size_t>((*decoded)->value);
    if (before_body) before_body(size);
    constexpr std::size_t kChunk = 64 * 1024;
    Bytes message;
    message.reserve(std::min(size, kChunk));
    while (message.size() < size) {
      const std::size_t have = message.size();
      message.resize(have + std::min(size - have, std::max(have, kChunk)));
      co_await stream.read_exact(MutableBytesView(message.data() + have, message.size() - have));
    }
    co_return message;
  }
}

awaitable<Bytes> read_length_prefixed(ByteStream& stream, std::size_t max_size) {
  const BeforeBody nothing;
  co_return co_await read_length_prefixed(stream, max_size, nothing);
}

awaitable<Bytes> read_length_prefixed(ByteStream& stream, std::size_t max_size, const BeforeBody& before_body) {
  auto message = co_await read_length_prefixed_or_eof(stream, max_size, before_body);
  if (!message) throw ErrorException("stream ended before a message");
  co_return std::move(*message);
}

awaitable<void> write_length_prefixed(ByteStream& stream, BytesView message) {
  Bytes framed;
  framed.reserve(message.size() + 10);
  append_uvarint(framed, message.size());
  append(framed, message);
  co_await stream.write_all(framed);
}

}  // namespace stargate::p2p
