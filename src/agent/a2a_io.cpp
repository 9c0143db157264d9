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

// How long a caller refused for lack of room (calls in flight, memory) is told to wait.
constexpr int kBusyRetryMs = 100;

// Reserves a message's memory in the stream's scopes (a2a service, peer, node); throws
// ResourceLimitExceeded when there is no room.
p2p::MemoryGrant reserve_message_memory(p2p::MuxedStream& stream, std::size_t size) {
  std::string why;
  auto grant = stream.resources().reserve_memory(size, why);
  if (!grant && size > 0 && !why.empty()) throw p2p::ResourceLimitExceeded(why);
  return grant;
}

}  // namespace

std::optional<std::string> agent_id_of(const crypto::PeerId& peer) {
  auto key = peer.public_key();
  if (!key) return std::nullopt;
  return crypto::agent_id(*key);
}

void enable_a2a(p2p::Host& host, A2aRequestHandler handle, std::size_t max_in_flight) {
  auto in_flight = std::make_shared<std::size_t>(0);
  host.resources().set_service(kA2aProtocol, "a2a");
  host.set_handler(kA2aProtocol, [handle, in_flight, max_in_flight](
                                     std::shared_ptr<p2p::MuxedStream> stream) -> p2p::awaitable<void> {
    const auto caller = stream->connection().info().remote_peer;
    if (*in_flight >= max_in_flight) {
      logger()->debug("a2a request from {} refused: {} in flight", caller.to_string(), *in_flight);
      auto busy = make_error_response(
          std::nullopt, RpcError{ErrorCode::rate_limited, "too many requests in flight; retry later",
                                 boost::json::object{{"retry_after_ms", kBusyRetryMs}}});
      co_await p2p::write_length_prefixed(*stream, as_bytes(busy));
      co_await stream->close_write();
      stream->reset();
      co_return;
    }
    ++*in_flight;
    // Released however the handler ends (a thrown exception included).
    struct Release {
      std::shared_ptr<std::size_t> count;
      ~Release() { --*count; }
    } release{in_flight};
    std::optional<std::string> request;
    std::string refusal;
    // The request's memory is reserved from its length prefix, before its body is read, and held
    // until the answer is written: what the node is committed to stays within its limits.
    p2p::MemoryGrant memory;
    const p2p::BeforeBody reserve = [&memory, &stream](std::size_t size) {
      memory = reserve_message_memory(*stream, size);
    };
    try {
      auto bytes = co_await p2p::read_length_prefixed(*stream, kMaxMessageBytes, reserve);
      request.emplace(as_string(bytes));
    } catch (const p2p::MessageTooLarge& e) {
      // Answered precisely, without reading the oversized body; the stream is then dropped.
      refusal = make_error_response(std::nullopt, payload_too_large_error(static_cast<std::size_t>(e.size)));
    } catch (const p2p::ResourceLimitExceeded& e) {
      refusal = make_error_response(
          std::nullopt, RpcError{ErrorCode::rate_limited, std::string("node busy: ") + e.what(),
                                 boost::json::object{{"retry_after_ms", kBusyRetryMs}}});
    }
    if (!request) {
      logger()->debug("a2a request from {} refused: {}", caller.to_string(), refusal);
      co_await p2p::write_length_prefixed(*stream, as_bytes(refusal));
      co_await stream->close_write();
      stream->reset();
      co_return;
    }
    auto response = co_await handle(std::move(*request), stream->connection().info());
    co_await p2p::write_length_prefixed(*stream, as_bytes(response));
    co_await stream->close_write();
  });
}

p2p::awaitable<std::string> a2a_round_trip(p2p::Host& host, std::shared_ptr<p2p::MuxedConnection> connection,
                                           const std::string& request) {
  std::vector<std::string> protocols{kA2aProtocol};
  auto stream = co_await host.open_stream(connection, protocols);
  // A callee that refuses a request unread (no memory for it) answers and resets the stream while
  // a large request is still being written: its answer, already received, is what counts.
  std::exception_ptr write_failure;
  try {
    co_await p2p::write_length_prefixed(*stream, as_bytes(request));
    co_await stream->close_write();
  } catch (const std::exception&) {
    write_failure = std::current_exception();
  }
  p2p::MemoryGrant memory;
  const p2p::BeforeBody reserve = [&memory, &stream](std::size_t size) {
    memory = reserve_message_memory(*stream, size);
  };
  std::optional<Bytes> response;
  try {
    response = co_await p2p::read_length_prefixed(*stream, kMaxMessageBytes, reserve);
  } catch (const std::exception&) {
    if (!write_failure) throw;
  }
  if (!response) std::rethrow_exception(write_failure);
  stream->close();
  co_return std::string(as_string(*response));
}

}  // namespace stargate::agent
