#pragma once
// A ByteStream that forwards to a shared MuxedStream, so that a stream of one connection can carry
// a whole connection of its own (a relayed circuit: Noise and Yamux run inside it).
#include "p2p/host/muxed_connection.hpp"

#include <memory>

namespace stargate::p2p {

class StreamRef final : public ByteStream {
 public:
  explicit StreamRef(std::shared_ptr<MuxedStream> inner) : inner_(std::move(inner)) {}

  awaitable<void> write_all(BytesView data) override { return inner_->write_all(data); }
  awaitable<void> close_write() override { return inner_->close_write(); }
  void reset() override { inner_->reset(); }
  void close() override { inner_->close(); }

 protected:
  awaitable<std::size_t> read_some_raw(MutableBytesView buffer) override { return inner_->read_some(buffer); }

 private:
  std::shared_ptr<MuxedStream> inner_;
};

}  // namespace stargate::p2p
