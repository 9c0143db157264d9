#pragma once
// The one interface every layer of a connection speaks: a raw TCP socket, a Noise channel and a
// Yamux stream all read and write bytes. Protocol code (multistream, identify, ping, ...) is written
// once against it.
#include "base/bytes.hpp"
#include "p2p/host/asio.hpp"

#include <cstddef>
#include <memory>

namespace stargate::p2p {

namespace multistream {
class Initiator;
}

class ByteStream {
 public:
  ByteStream();
  virtual ~ByteStream();

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

  // Optimistic protocol selection: the proposal is already sent and the application may write at
  // once; the peer's answer is read and checked by the first read, before any application data
  // (an "na" there fails that read). Saves a round trip per stream.
  void expect_selection(std::unique_ptr<multistream::Initiator> initiator);

 protected:
  virtual awaitable<std::size_t> read_some_raw(MutableBytesView buffer) = 0;
  // Completes a pending optimistic selection (reads the peer's answer). Half-closing calls this
  // first, as rust-libp2p does: a peer that sees our FIN before it answered may drop the stream.
  awaitable<void> await_selection();

 private:
  awaitable<void> finish_selection();

  std::unique_ptr<multistream::Initiator> pending_selection_;
  Bytes pushed_back_;
  std::size_t pushed_back_offset_ = 0;
};

}  // namespace stargate::p2p
