#include "p2p/protocols/ping/ping_io.hpp"

#include "crypto/random.hpp"

#include <array>

namespace stargate::p2p::ping {

namespace {
constexpr std::size_t payload_size = 32;
}

void enable(Host& host) {
  host.resources().set_service(protocol_id, "ping");
  host.set_handler(protocol_id, [](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    std::array<std::uint8_t, payload_size> buffer;
    for (;;) {
      try {
        co_await stream->read_exact(buffer);
      } catch (const SystemError& e) {
        if (e.code() == asio::error::eof) break;  // the pinger is done
        throw;
      }
      co_await stream->write_all(buffer);
    }
    co_await stream->close_write();
  });
}

awaitable<Clock::duration> round_trip(ByteStream& stream) {
  std::array<std::uint8_t, payload_size> sent, received;
  crypto::random_bytes(sent);
  auto start = Clock::now();
  co_await stream.write_all(sent);
  co_await stream.read_exact(received);
  auto rtt = Clock::now() - start;
  if (sent != received) throw ErrorException("ping: the peer answered with different bytes");
  co_return rtt;
}

}  // namespace stargate::p2p::ping
