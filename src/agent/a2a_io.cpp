#include "agent/a2a_io.hpp"

#include "agent/a2a_stream_io.hpp"
#include "agent/stream_frames.hpp"

#include "agent/call_limiter.hpp"
#include "agent/jsonrpc.hpp"
#include "base/log.hpp"
#include "base/log_throttle.hpp"
#include "base/deadline_io.hpp"
#include "p2p/host/length_prefixed.hpp"

namespace stargate::agent {
namespace {

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

A2aRefusal refusal_of(InFlightCalls::Refusal refusal) {
  switch (refusal) {
    case InFlightCalls::Refusal::peer: return A2aRefusal::peer_busy;
    case InFlightCalls::Refusal::ip: return A2aRefusal::ip_busy;
    default: return A2aRefusal::node_busy;
  }
}

// What serving a2a keeps between streams.
struct A2aServer {
  A2aServer(A2aRequestHandler h, A2aServeOptions o, A2aStreamService s)
      : handle(std::move(h)), streams(std::move(s)), options(std::move(o)), in_flight(options.in_flight) {}
  A2aRequestHandler handle;
  A2aStreamService streams;
  A2aServeOptions options;
  InFlightCalls in_flight;
  LogThrottle refusal_log;

  void refused(const crypto::PeerId& caller, A2aRefusal why, const std::string& detail) {
    std::uint64_t suppressed = 0;
    if (refusal_log.allow(std::chrono::steady_clock::now(), suppressed))
      log::module<"a2a">()->info("a2a request from {} refused: {}{}", caller.to_string(), detail,
                     suppressed ? " (" + std::to_string(suppressed) + " more refusals not logged)" : std::string());
    if (options.on_refused) options.on_refused(caller, why);
  }

  p2p::awaitable<void> serve(std::shared_ptr<p2p::MuxedStream> stream);
};

// On /stargate/a2a/1.1.0 the answer is a stream's final frame.
p2p::awaitable<void> refuse_unread(p2p::MuxedStream& stream, const std::string& response) {
  const bool framed = stream.protocol() == kA2aStreamProtocol;
  const std::string text = framed ? make_final_frame(1, response) : response;
  co_await p2p::write_length_prefixed(stream, as_bytes(text));
  co_await stream.close_write();
  stream.reset();
}

p2p::awaitable<void> A2aServer::serve(std::shared_ptr<p2p::MuxedStream> stream) {
  const auto& connection = stream->connection().info();
  const auto caller = connection.remote_peer;
  // A relayed connection's address is the relay's: it says nothing about the caller.
  std::optional<std::string> ip;
  if (!connection.relayed) ip = ip_of_multiaddr(connection.remote_addr.to_string());
  InFlightCalls::Refusal full = InFlightCalls::Refusal::none;
  auto ticket = in_flight.enter(std::string(caller.bytes().begin(), caller.bytes().end()), ip, full);
  if (!ticket) {
    refused(caller, refusal_of(full),
            std::string(to_string(full)) + " share of requests in flight is full (" + std::to_string(in_flight.total()) +
                " in flight)");
    auto busy = make_error_response(
        std::nullopt, RpcError{ErrorCode::rate_limited, "too many requests in flight; retry later",
                               boost::json::object{{"retry_after_ms", kBusyRetryMs}}});
    co_await refuse_unread(*stream, busy);
    co_return;
  }
  std::optional<std::string> request;
  std::string refusal;
  // The request's memory is reserved from its length prefix, before its body is read, and held
  // until the answer is written: what the node is committed to stays within its limits.
  p2p::MemoryGrant memory;
  // The place is held only as long as the caller makes progress: its length prefix, then its body,
  // must arrive in time, or the stream is reset (and the read below fails).
  p2p::MuxedStream* raw = stream.get();
  auto executor = co_await p2p::asio::this_coro::executor;
  Deadline whole(executor, options.body_timeout, [raw] { raw->reset(); });
  Deadline header(executor, options.header_timeout, [raw] { raw->reset(); });
  const p2p::BeforeBody reserve = [&memory, &stream, &header](std::size_t size) {
    header.cancel();
    memory = reserve_message_memory(*stream, size);
  };
  bool too_slow = false;
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
  } catch (const std::exception&) {
    if (!header.expired() && !whole.expired()) throw;  // the stream failed: nothing to answer
    too_slow = true;
  }
  whole.cancel();
  header.cancel();
  if (too_slow) {
    refused(caller, A2aRefusal::too_slow, "the request did not arrive in time");
    co_return;
  }
  if (!request) {
    log::module<"a2a">()->debug("a2a request from {} refused: {}", caller.to_string(), refusal);
    co_await refuse_unread(*stream, refusal);
    co_return;
  }
  if (stream->protocol() == kA2aStreamProtocol) {
    auto opened = co_await streams.open(std::move(*request), stream->connection().info());
    co_await serve_stream_frames(std::move(stream), std::move(opened), streams.ended);
    co_return;
  }
  auto response = co_await handle(std::move(*request), stream->connection().info());
  co_await p2p::write_length_prefixed(*stream, as_bytes(response));
  co_await stream->close_write();
}

}  // namespace

std::string_view to_string(A2aRefusal refusal) {
  switch (refusal) {
    case A2aRefusal::node_busy: return "node_busy";
    case A2aRefusal::peer_busy: return "peer_busy";
    case A2aRefusal::ip_busy: return "ip_busy";
    case A2aRefusal::too_slow: return "too_slow";
  }
  return "";
}

std::optional<std::string> agent_id_of(const crypto::PeerId& peer) {
  auto key = peer.public_key();
  if (!key) return std::nullopt;
  return crypto::agent_id(*key);
}

void enable_a2a(p2p::Host& host, A2aRequestHandler handle, A2aServeOptions options, A2aStreamService streams) {
  const bool streamed = static_cast<bool>(streams.open);
  auto server = std::make_shared<A2aServer>(std::move(handle), std::move(options), std::move(streams));
  auto serve = [server](std::shared_ptr<p2p::MuxedStream> stream) -> p2p::awaitable<void> {
    co_await server->serve(std::move(stream));
  };
  host.resources().set_service(kA2aProtocol, "a2a");
  host.set_handler(kA2aProtocol, serve);
  if (streamed) {
    host.resources().set_service(kA2aStreamProtocol, "a2a");
    host.set_handler(kA2aStreamProtocol, serve);
  }
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
