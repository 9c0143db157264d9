#include "agent/a2a_stream_io.hpp"

#include "agent/a2a_io.hpp"
#include "agent/stream_frames.hpp"
#include "base/log.hpp"
#include "base/varint.hpp"
#include "p2p/host/length_prefixed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace stargate::agent {

namespace asio = boost::asio;

namespace {

// Frames written at once: many small partials leave in one Yamux frame and one Noise record.
constexpr std::size_t kStreamWriteBatch = 256 * 1024;
// The caller's frames (acknowledgements, cancellation) are small.
constexpr std::size_t kCallerFrameLimit = 1024;

// The window's memory, reserved in the stream's scopes; an empty grant when there is no room.
p2p::MemoryGrant reserve_stream_window(p2p::MuxedStream& stream, std::uint64_t window, std::string& why) {
  return stream.resources().reserve_memory(static_cast<std::size_t>(window), why);
}

p2p::awaitable<void> write_frame(p2p::MuxedStream& stream, std::string_view text) {
  co_await p2p::write_length_prefixed(stream, as_bytes(text));
}

// Reads the caller's acknowledgements and cancellation until its side ends.
p2p::awaitable<void> read_caller_frames(std::shared_ptr<p2p::MuxedStream> io, std::shared_ptr<ServedStream> served) {
  try {
    for (;;) {
      auto frame = co_await p2p::read_length_prefixed_or_eof(*io, kCallerFrameLimit);
      if (!frame) break;
      auto parsed = parse_caller_frame(as_string(*frame));
      if (!parsed) {
        log::module<"a2a">()->debug("stream {}: caller frame refused: {}", served->call_id(), parsed.error().message);
        break;
      }
          if (auto* ack = std::get_if<StreamAck>(&*parsed)) {
        if (ack->call_id == served->call_id()) served->acknowledge(ack->consumed);
      } else if (auto* cancel = std::get_if<StreamCancel>(&*parsed)) {
        if (cancel->call_id == served->call_id()) served->cancel("the caller cancelled");
      }
    }
  } catch (const std::exception&) {
  }
}

}  // namespace

p2p::awaitable<void> serve_stream_frames(std::shared_ptr<p2p::MuxedStream> io, StreamAttachment opened,
                                         std::function<void(const ServedStream&)> ended) {
  if (!opened.stream) {
    co_await write_frame(*io, make_final_frame(1, *opened.refusal));
    co_await io->close_write();
    io->close();
    co_return;
  }
  auto served = opened.stream;
  const auto attachment = opened.attachment;
  auto executor = co_await asio::this_coro::executor;
  std::string why;
  auto memory = reserve_stream_window(*io, served->outbox().window(), why);
  if (!memory && !why.empty()) {
    served->detach(attachment, std::chrono::steady_clock::now());
    auto busy = make_error_response(RequestId(served->call_id()),
                                    RpcError{ErrorCode::rate_limited, "node busy: " + why, boost::json::object{{"retry_after_ms", 100}}});
    co_await write_frame(*io, make_final_frame(1, busy));
    io->reset();
    co_return;
  }
  struct ReaderState {
    bool done = false;
  };
  auto reader = std::make_shared<ReaderState>();
  asio::co_spawn(executor, [io, served, reader]() -> p2p::awaitable<void> {
    co_await read_caller_frames(io, served);
    reader->done = true;
    served->changed().notify_all();
  }, asio::detached);
  Bytes batch;
  bool broken = false;
  try {
    for (;;) {
      if (!served->current(attachment)) break;
      auto& out = served->outbox();
      if (const std::size_t unsent = out.unsent_count(); unsent > 0) {
        batch.clear();
        std::size_t count = 0;
        for (; count < unsent && batch.size() < kStreamWriteBatch; ++count) {
          const auto& text = out.unsent(count);
          append_uvarint(batch, text.size());
          batch.insert(batch.end(), text.begin(), text.end());
        }
        co_await io->write_all(batch);
        // Another path may have taken over while this one wrote: its cursor is its own.
        if (!served->current(attachment)) break;
        out.mark_sent(count);
        continue;
      }
      if (out.drained() || reader->done) break;
      co_await served->changed().wait();
    }
  } catch (const std::exception&) {
    broken = true;
  }
  if (served->outbox().drained()) {
    io->close();
  } else {
    served->detach(attachment, std::chrono::steady_clock::now());
    if (broken || reader->done) io->reset();
    else io->close();
  }
  if (ended) ended(*served);
}

p2p::awaitable<void> a2a_stream_call(p2p::Host& host, std::shared_ptr<p2p::MuxedConnection> connection,
                                     const std::string& opening, StreamingCall& call) {
  const auto attempt = call.begin_attempt();
  std::vector<std::string> protocols{kA2aStreamProtocol};
  auto io = co_await host.open_stream(connection, protocols);
  std::string why;
  auto memory = reserve_stream_window(*io, call.inbox().window(), why);
  if (!memory && !why.empty()) {
    io->reset();
    throw p2p::ResourceLimitExceeded(why);
  }
  co_await write_frame(*io, opening);
  auto executor = co_await asio::this_coro::executor;
  // The writer: acknowledgements as the reader consumes, cancellation; it owns the stream's write
  // side after the opening frame.
  struct WriterState {
    explicit WriterState(asio::any_io_executor ex) : exited(std::move(ex)) {}
    bool stop = false;
    bool done = false;
    Signal exited;
  };
  auto writer = std::make_shared<WriterState>(executor);
  auto* raw_call = &call;
  asio::co_spawn(executor, [io, writer, raw_call, attempt]() -> p2p::awaitable<void> {
    try {
      while (!writer->stop && raw_call->current(attempt)) {
        if (raw_call->take_cancel()) co_await write_frame(*io, make_cancel_frame(raw_call->call_id()));
        if (auto seq = raw_call->inbox().ack_due()) co_await write_frame(*io, make_ack_frame(raw_call->call_id(), *seq));
        if (writer->stop) break;
        co_await raw_call->path_wake().wait();
      }
      // The call failed (its deadline passed) or a newer path took over: this one stops reading.
      if (!raw_call->current(attempt)) io->reset();
      // The final frame is here: the callee may drop what it kept for a resume.
      if (raw_call->complete()) {
        co_await write_frame(*io, make_ack_frame(raw_call->call_id(), raw_call->inbox().received()));
        co_await io->close_write();
      }
    } catch (const std::exception&) {
    }
    writer->done = true;
    writer->exited.notify_all();
  }, asio::detached);
  auto stop_writer = [&]() -> p2p::awaitable<void> {
    writer->stop = true;
    call.path_wake().notify_all();
    while (!writer->done) co_await writer->exited.wait();
  };
  std::exception_ptr failure;
  bool received_any = false;
  try {
    while (!call.complete()) {
      auto bytes = co_await p2p::read_length_prefixed(*io, kMaxMessageBytes + 64);
      if (!call.current(attempt)) throw ErrorException("another path took the stream over");
      received_any = true;
      // Once the reader cancelled, partials are counted, not parsed: only the final one matters.
      if (call.cancel_requested()) {
        if (auto seq = peek_partial_seq(as_string(bytes))) {
          CalleeFrame skipped;
          skipped.seq = *seq;
          skipped.partial = nullptr;
          call.deliver(std::move(skipped), bytes.size());
          continue;
        }
      }
      auto frame = parse_callee_frame(as_string(bytes));
      if (!frame) throw ErrorException("malformed stream frame: " + frame.error().message);
      auto added = call.deliver(std::move(*frame), bytes.size());
      if (added == StreamInbox::Added::gap) throw ErrorException("stream frames missing after " + std::to_string(call.inbox().received()));
      if (added == StreamInbox::Added::over_window) throw ErrorException("the callee sent beyond the stream window");
    }
  } catch (const std::exception& e) {
    failure = std::current_exception();
    // An older callee that does not speak 1.1.0: the request as a unary call on 1.0.0.
    if (!received_any && std::string_view(e.what()).find("not supported") != std::string_view::npos) failure = nullptr;
    io->reset();
  }
  if (failure || !call.complete()) {
    co_await stop_writer();
    if (failure) std::rethrow_exception(failure);
    auto response = co_await a2a_round_trip(host, connection, opening);
    auto parsed = parse_response(response);
    if (!parsed) throw ErrorException("malformed response: " + parsed.error().message);
    CalleeFrame final;
    final.seq = call.inbox().received() + 1;
    final.final = std::move(*parsed);
    call.deliver(std::move(final), response.size());
    co_return;
  }
  co_await stop_writer();
  io->close();
}

}  // namespace stargate::agent
