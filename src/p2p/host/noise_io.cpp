#include "p2p/host/noise_io.hpp"

#include <algorithm>
#include <cstring>

namespace stargate::p2p {
namespace {

// A ByteStream carrying Noise transport frames over another ByteStream (the TCP socket).
class NoiseStream final : public ByteStream {
 public:
  NoiseStream(std::unique_ptr<ByteStream> inner, noise::NoiseSession session)
      : inner_(std::move(inner)), transport_(std::move(session.transport)), ciphertext_(128 * 1024) {
    if (!session.leftover.empty()) decrypt(session.leftover);
  }

  awaitable<void> write_all(BytesView data) override {
    // One buffer per write: the Yamux writer hands us whole batches of frames.
    wire_.clear();
    wire_.reserve(noise::SecureTransport::encrypted_size(data.size()));
    transport_.encrypt(data, wire_);
    co_await inner_->write_all(wire_);
  }
  awaitable<void> close_write() override { co_await inner_->close_write(); }
  void reset() override { inner_->reset(); }
  void close() override { inner_->close(); }

 protected:
  awaitable<std::size_t> read_some_raw(MutableBytesView buffer) override {
    while (plaintext_offset_ == plaintext_.size()) {
      plaintext_.clear();
      plaintext_offset_ = 0;
      std::size_t n = co_await inner_->read_some(ciphertext_);
      if (n == 0) {
        if (transport_.buffered() != 0) throw ErrorException("noise: connection closed inside a frame");
        co_return 0;
      }
      decrypt(BytesView(ciphertext_.data(), n));
    }
    std::size_t n = std::min(buffer.size(), plaintext_.size() - plaintext_offset_);
    std::memcpy(buffer.data(), plaintext_.data() + plaintext_offset_, n);
    plaintext_offset_ += n;
    co_return n;
  }

 private:
  void decrypt(BytesView wire) {
    if (auto ok = transport_.decrypt(wire, plaintext_); !ok) throw ErrorException("noise: " + ok.error().message);
  }

  std::unique_ptr<ByteStream> inner_;
  noise::SecureTransport transport_;
  Bytes ciphertext_;
  Bytes plaintext_;
  std::size_t plaintext_offset_ = 0;
  Bytes wire_;
};

awaitable<SecureChannel> run_handshake(std::unique_ptr<ByteStream> raw, noise::Libp2pNoiseHandshake handshake) {
  std::uint8_t buffer[4096];
  for (;;) {
    if (handshake.has_output()) co_await raw->write_all(handshake.take_output());
    if (handshake.done()) break;
    std::size_t n = co_await raw->read_some(MutableBytesView(buffer, sizeof buffer));
    if (n == 0) throw ErrorException("noise: peer closed the connection during the handshake");
    if (auto ok = handshake.receive(BytesView(buffer, n)); !ok)
      throw ErrorException("noise handshake failed: " + ok.error().message);
  }
  auto peer = handshake.remote_peer_id();
  auto stream = std::make_unique<NoiseStream>(std::move(raw), handshake.take_transport());
  co_return SecureChannel{std::move(stream), std::move(peer)};
}

}  // namespace

awaitable<SecureChannel> secure_outbound(std::unique_ptr<ByteStream> raw, const noise::StaticNoiseKey& local,
                                         std::optional<crypto::PeerId> expected) {
  co_return co_await run_handshake(std::move(raw),
                                   noise::Libp2pNoiseHandshake(noise::Role::initiator, local, {}, std::move(expected)));
}

awaitable<SecureChannel> secure_inbound(std::unique_ptr<ByteStream> raw, const noise::StaticNoiseKey& local) {
  co_return co_await run_handshake(std::move(raw), noise::Libp2pNoiseHandshake(noise::Role::responder, local));
}

}  // namespace stargate::p2p
