#pragma once
// C++ hosts on loopback for integration tests: a node with the standard protocols, payloads, an
// echo round trip, and waiting for a condition with a deadline.
#include "p2p/host/standard_protocols.hpp"
#include "test_support.hpp"

#include <optional>
#include <random>
#include <string>

namespace stargate::testing {

struct TestNode {
  explicit TestNode(boost::asio::io_context& io, p2p::HostConfig config = {},
                    std::optional<crypto::Ed25519PrivateKey> key = std::nullopt,
                    const std::string& listen = "/ip4/127.0.0.1/tcp/0")
      : host(io.get_executor(), key ? std::move(*key) : crypto::Ed25519PrivateKey::generate(), std::move(config)),
        identify(p2p::enable_standard_protocols(host)) {
    if (!listen.empty()) addr = host.listen(Multiaddr::parse(listen).value());
  }
  Multiaddr full_addr() const {
    return addr.encapsulate(Multiaddr::parse("/p2p/" + host.peer_id().to_string()).value());
  }
  p2p::Host host;
  std::shared_ptr<p2p::identify::IdentifyService> identify;
  Multiaddr addr;
};

inline Bytes pseudo_random(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// Sends `payload` on a new /echo/1.0.0 stream and returns what came back, until the peer closes.
// Writes and reads concurrently: a payload larger than the windows would otherwise deadlock.
inline p2p::awaitable<Bytes> echo_round_trip(p2p::Host& host, std::shared_ptr<p2p::MuxedConnection> connection,
                                             BytesView payload) {
  std::vector<std::string> protocols{"/echo/1.0.0"};
  auto stream = co_await host.open_stream(connection, protocols);
  auto shared_payload = std::make_shared<Bytes>(payload.begin(), payload.end());
  auto write_error = std::make_shared<std::exception_ptr>();
  auto written = std::make_shared<bool>(false);
  p2p::asio::co_spawn(
      host.executor(),
      [stream, shared_payload, written]() -> p2p::awaitable<void> {
        co_await stream->write_all(*shared_payload);
        co_await stream->close_write();
        *written = true;
      },
      [write_error](std::exception_ptr e) { *write_error = e; });
  Bytes received;
  Bytes buffer(64 * 1024);
  for (;;) {
    auto n = co_await stream->read_some(buffer);
    if (n == 0) break;
    received.insert(received.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (*write_error) std::rethrow_exception(*write_error);
  EXPECT_TRUE(*written) << "the echo server closed before our upload finished";
  co_return received;
}

// Checks `condition` whenever the event loop has run other work for a few milliseconds, until it
// holds (true) or `timeout` passes (false). For state that changes through callbacks the test
// cannot await directly.
inline p2p::awaitable<bool> wait_until(std::function<bool()> condition, std::chrono::milliseconds timeout) {
  auto executor = co_await p2p::asio::this_coro::executor;
  p2p::asio::steady_timer timer(executor);
  auto end = p2p::Clock::now() + timeout;
  while (!condition()) {
    if (p2p::Clock::now() >= end) co_return false;
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(p2p::use_awaitable);
  }
  co_return true;
}

}  // namespace stargate::testing
