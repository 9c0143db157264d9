#include "p2p/protocols/echo/echo_io.hpp"

namespace stargate::p2p::echo {

void enable(Host& host) {
  host.resources().set_service(protocol_id, "echo");
  host.set_handler(protocol_id, [](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    Bytes buffer(64 * 1024);
    for (;;) {
      std::size_t n = co_await stream->read_some(buffer);
      if (n == 0) break;
      co_await stream->write_all(BytesView(buffer.data(), n));
    }
    co_await stream->close_write();
  });
}

}  // namespace stargate::p2p::echo
