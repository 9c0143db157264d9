#pragma once
// The one interface every layer of a connection speaks: a raw TCP socket, a Noise channel and a
// Yamux stream all read and write bytes. Protocol code (multistream, identify, ping, ...) is written
// once against it.
#include "base/bytes.hpp"
#include "p2p/host/asio.hpp"

#include <cstddef>

namespace stargate::p2p {

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Reads at least one byte; returns 0 at end of stream (the peer closed its write side).
  // Throws SystemError on reset or I/O failure.
  awaitable<std::size_t> read_some(MutableBytesView buffer);
  // Reads exactly buffer.size() bytes; throws asio::error::eof if the stream ends first.
  awaitable<void> read_exact(MutableBytesView buffer);
  virtual awaitable<void> write_all(BytesView data) = 0;
  // Half-close: the peer reads end of stream; reading continues.
  virtual awaitable<void> close_write() = 0;
  // Abort both directions now; data not yet delivered is lost.
  virtual void reset() = 0;
  // Release the stream after the last write: data already written is still delivered.
  virtual void close() = 0;

  // Gives back bytes that were read ahead (e.g. past the end of a multistream negotiation):
  // the next reads return them first.
  void unread(BytesView bytes);

 protected:
  virtual awaitable<std::size_t> read_some_raw(MutableBytesView buffer) = 0;

 private:
  Bytes pushed_back_;
  std::size_t pushed_back_offset_ = 0;
};

}  // namespace stargate::p2p
