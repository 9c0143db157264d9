#include "agent/a2a_io.hpp"

#include "agent/jsonrpc.hpp"
#include "base/log.hpp"
#include "p2p/host/length_prefixed.hpp"

namespace stargate::agent {
namespace {

auto logger() {
  static auto l = log::get("a2a");
  return l;
}

}  // namespace

std::optional<std::string> agent_id_of(const crypto::PeerId& peer) {
  auto key = peer.public_key();
  if (!key) return std::nullopt;
  return crypto::agent_id(*key);
}

void enable_a2a(p2p::Host& host, A2aRequestHandler handle) {
  host.set_handler(kA2aProtocol, [handle](std::shared_ptr<p2p::MuxedStream> stream) -> p2p::awaitable<void> {
    const auto caller = stream->connection().info().remote_peer;
    std::optional<std::string> request;
    std::string refusal;
    try {
      auto bytes = co_await p2p::read_length_prefixed(*stream, kMaxMessageBytes);
      request.emplace(as_string(bytes));
    } catch (const p2p::MessageTooLarge& e) {
      // Answered precisely, without reading the oversized body; the stream is then dropped.
      refusal = make_error_response(std::nullopt, payload_too_large_error(static_cast<std::size_t>(e.size)));
    }
    if (!request) {
      logger()->debug("oversized a2a request from {}", caller.to_string());
      co_await p2p::write_length_prefixed(*stream, as_bytes(refusal));
      co_await stream->close_write();
      stream->reset();
      co_return;
    }
    auto response = co_await handle(std::move(*request), caller);
    co_await p2p::write_length_prefixed(*stream, as_bytes(response));
    co_await stream->close_write();
  });
}

p2p::awaitable<std::string> a2a_round_trip(p2p::Host& host, std::shared_ptr<p2p::MuxedConnection> connection,
                                           const std::string& request) {
  std::vector<std::string> protocols{kA2aProtocol};
  auto stream = co_await host.open_stream(connection, protocols);
  co_await p2p::write_length_prefixed(*stream, as_bytes(request));
  co_await stream->close_write();
  auto response = co_await p2p::read_length_prefixed(*stream, kMaxMessageBytes);
  stream->close();
  co_return std::string(as_string(response));
}

}  // namespace stargate::agent
