#include "p2p/host/muxed_connection.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <cstring>

namespace stargate::p2p {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

// ---------------------------------------------------------------- MuxedStream

MuxedStream::MuxedStream(std::shared_ptr<MuxedConnection> connection, yamux::StreamId id)
    : connection_(std::move(connection)), id_(id), signal_(connection_->timer_.get_executor()) {
  connection_->streams_[id_] = this;
  if (connection_->streams_callback_) connection_->streams_callback_(connection_->busy_stream_count());
}

void MuxedStream::set_background() {
  if (background_) return;
  background_ = true;
  ++connection_->background_streams_;
  if (connection_->streams_callback_) connection_->streams_callback_(connection_->busy_stream_count());
}

MuxedStream::~MuxedStream() {
  // A stream dropped before both sides finished is aborted, so the peer does not wait forever.
  if (!reset_ && !local_closed_ && !connection_->closed_) {
    connection_->session_.reset(id_);
    connection_->after_session_change();
  }
  connection_->forget(id_);
  if (background_) --connection_->background_streams_;
  if (connection_->streams_callback_) connection_->streams_callback_(connection_->busy_stream_count());
}

void MuxedStream::on_data(Bytes data) {
  if (received_offset_ == received_.size()) {
    received_ = std::move(data);
    received_offset_ = 0;
  } else {
    received_.insert(received_.end(), data.begin(), data.end());
  }
  wake();
}

void MuxedStream::on_remote_closed() {
  remote_closed_ = true;
  wake();
}

void MuxedStream::on_reset() {
  reset_ = true;
  // Gone from the session: its place in the resource scopes is free now, not when the last
  // holder of this object lets go.
  scope_.release();
  wake();
}

awaitable<std::size_t> MuxedStream::read_some_raw(MutableBytesView buffer) {
  while (received_offset_ == received_.size()) {
    if (reset_) throw SystemError(asio::error::connection_reset);
    if (remote_closed_) co_return 0;
    if (connection_->closed_) throw SystemError(asio::error::connection_aborted);
    co_await signal_.wait();
  }
  std::size_t n = std::min(buffer.size(), received_.size() - received_offset_);
  std::memcpy(buffer.data(), received_.data() + received_offset_, n);
  received_offset_ += n;
  if (received_offset_ == received_.size()) {
    received_.clear();
    received_offset_ = 0;
  }
  // Only now is the receive window given back: a reader that stops reading stops the sender.
  if (!reset_ && !connection_->closed_) {
    connection_->session_.consumed(id_, n, Clock::now());
    connection_->after_session_change();
  }
  co_return n;
}

awaitable<void> MuxedStream::write_all(BytesView data) { co_await connection_->write_stream(*this, data); }

awaitable<void> MuxedStream::close_write() {
  co_await await_selection();
  close();
}

void MuxedStream::close() {
  if (local_closed_ || reset_ || connection_->closed_) return;
  local_closed_ = true;
  connection_->session_.close_write(id_);
  connection_->after_session_change();
}

void MuxedStream::reset() {
  if (reset_) return;
  reset_ = true;
  if (!connection_->closed_) {
    connection_->session_.reset(id_);
    connection_->after_session_change();
  }
  scope_.release();
  wake();
}

// ---------------------------------------------------------------- MuxedConnection

MuxedConnection::MuxedConnection(asio::any_io_executor executor, std::unique_ptr<ByteStream> secure,
                                 ConnectionInfo info, MuxedConnectionConfig config)
    : secure_(std::move(secure)),
      info_(std::move(info)),
      // The dialer is the Yamux client (odd stream IDs), the listener the server.
      session_(info_.outbound ? yamux::Role::client : yamux::Role::server, config.yamux, Clock::now()),
      config_(config),
      writer_wake_(executor),
      drained_(executor),
      closed_signal_(executor),
      timer_(executor, Clock::time_point::max()) {}

MuxedConnection::~MuxedConnection() = default;

void MuxedConnection::set_memory_budget(std::unique_ptr<yamux::MemoryBudget> budget) {
  memory_budget_ = std::move(budget);
  session_.set_memory_budget(memory_budget_.get());
}

void MuxedConnection::start(InboundHandler on_inbound) {
  on_inbound_ = std::move(on_inbound);
  auto self = shared_from_this();
  auto executor = timer_.get_executor();
  // Each loop holds `self`, so the connection lives until all three have finished.
  asio::co_spawn(executor, [self]() -> awaitable<void> { co_await self->read_loop(); }, asio::detached);
  asio::co_spawn(executor, [self]() -> awaitable<void> { co_await self->write_loop(); }, asio::detached);
  asio::co_spawn(executor, [self]() -> awaitable<void> { co_await self->timer_loop(); }, asio::detached);
  after_session_change();
}

std::shared_ptr<MuxedStream> MuxedConnection::open_stream() {
  if (closed_ || closing_) throw SystemError(asio::error::not_connected);
  auto id = session_.open_stream();
  if (!id) throw ErrorException("cannot open stream: " + id.error().message);
  auto stream = std::make_shared<MuxedStream>(shared_from_this(), *id);
  after_session_change();
  return stream;
}

void MuxedConnection::close() {
  if (closed_ || closing_) return;
  closing_ = true;
  closing_since_ = Clock::now();
  session_.go_away(0);
  after_session_change();
}

awaitable<void> MuxedConnection::wait_closed() {
  while (!closed_) co_await closed_signal_.wait();
}

void MuxedConnection::after_session_change() {
  drain_events();
  if (session_.has_output() || closing_) writer_wake_.notify_all();
  rearm_timer();
}

void MuxedConnection::rearm_timer() {
  if (closing_ && !closed_) watchdog_at_ = std::min(watchdog_at_, closing_since_ + config_.close_timeout);
  // Re-arming the timer wakes timer_loop, which then waits for the new deadline.
  auto next = std::min(session_.next_timeout().value_or(Clock::time_point::max()), watchdog_at_);
  if (next != timer_.expiry()) timer_.expires_at(next);
}

void MuxedConnection::check_watchdog(Clock::time_point now) {
  if (now < watchdog_at_ || closed_) return;
  watchdog_at_ = Clock::time_point::max();
  if (slice_started_ != Clock::time_point::max()) {
    if (now - slice_started_ >= config_.write_timeout) {
      return abort("peer stopped reading: nothing written for " +
                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - slice_started_).count()) +
                   " ms");
    }
    watchdog_at_ = slice_started_ + config_.write_timeout;
  }
  if (closing_ && now - closing_since_ >= config_.close_timeout) return abort("close timed out");
  rearm_timer();
}

void MuxedConnection::abort(std::string reason) {
  if (closed_) return;
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  log::module<"yamux">()->debug("connection to {} aborted: {}", info_.remote_peer.to_string(), close_reason_);
  if (!closing_) closing_since_ = Clock::now();
  closing_ = true;
  // A write in progress fails at once; an idle writer wakes, sees `closing_` and ends.
  secure_->reset();
  writer_wake_.notify_all();
}

std::size_t MuxedConnection::reserve_output(std::size_t wanted) {
  const std::size_t held = buffered();
  if (held >= config_.output_high_water) return 0;
  wanted = std::min(wanted, config_.output_high_water - held);
  if (!memory_budget_) return wanted;
  if (held + wanted > output_reserved_) {
    const std::size_t take = std::min(held + wanted - output_reserved_, memory_budget_->room());
    memory_budget_->take(take);
    output_reserved_ += take;
  }
  const std::size_t covered = output_reserved_ > held ? output_reserved_ - held : 0;
  if (covered > 0) return std::min(wanted, covered);
  // No memory to spare anywhere: one frame may still go when nothing else waits for the socket,
  // so that every connection keeps moving; otherwise wait for this connection's output to drain.
  return held == 0 ? std::min<std::size_t>(wanted, config_.yamux.max_send_frame) : 0;
}

void MuxedConnection::release_output() {
  const std::size_t held = closed_ ? 0 : buffered();
  if (!memory_budget_ || output_reserved_ <= held) return;
  memory_budget_->give_back(output_reserved_ - held);
  output_reserved_ = held;
}

void MuxedConnection::drain_events() {
  while (auto event = session_.poll_event()) {
    std::visit(Overloaded{
                   [&](yamux::StreamOpened& e) {
                     auto stream = std::make_shared<MuxedStream>(shared_from_this(), e.id);
                     if (on_inbound_) on_inbound_(std::move(stream));
                   },
                   [&](yamux::StreamData& e) {
                     if (auto it = streams_.find(e.id); it != streams_.end()) it->second->on_data(std::move(e.data));
                   },
                   [&](yamux::StreamRemoteClosed& e) {
                     if (auto it = streams_.find(e.id); it != streams_.end()) it->second->on_remote_closed();
                   },
                   [&](yamux::StreamReset& e) {
                     if (auto it = streams_.find(e.id); it != streams_.end()) it->second->on_reset();
                   },
                   [&](yamux::StreamWritable& e) {
                     if (auto it = streams_.find(e.id); it != streams_.end()) it->second->wake();
                   },
                   [&](yamux::PingRtt&) {},
                   [&](yamux::GoAwayReceived& e) {
                     log::module<"yamux">()->debug("peer sent GoAway (code {})", e.code);
                   },
                   [&](yamux::SessionFailed& e) { fail("yamux: " + e.reason); },
               },
               *event);
  }
}

void MuxedConnection::fail(std::string reason) {
  if (closed_) return;
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  log::module<"yamux">()->debug("connection closed: {}", close_reason_);
  if (!closing_) closing_since_ = Clock::now();
  closing_ = true;
  writer_wake_.notify_all();
  // Output still queued gets close_timeout to reach the peer (the GoAway of a protocol error);
  // a peer that does not read it is then cut off.
  rearm_timer();
}

awaitable<void> MuxedConnection::write_stream(MuxedStream& stream, BytesView data) {
  while (!data.empty()) {
    if (stream.reset_) throw SystemError(asio::error::connection_reset);
    if (closed_ || closing_) throw SystemError(asio::error::connection_aborted);
    if (stream.local_closed_) throw SystemError(asio::error::shut_down);
    const std::size_t room = reserve_output(data.size());
    if (room == 0) {
      co_await drained_.wait();
      continue;
    }
    std::size_t accepted = session_.write(stream.id_, data.first(room));
    if (accepted == 0) {
      co_await stream.signal_.wait();  // StreamWritable, reset or close wakes it
      continue;
    }
    data = data.subspan(accepted);
    after_session_change();
  }
}

awaitable<void> MuxedConnection::read_loop() {
  Bytes buffer(256 * 1024);
  try {
    while (!closed_) {
      std::size_t n = co_await secure_->read_some(buffer);
      if (n == 0) {
        fail("peer closed the connection");
        break;
      }
      session_.receive(BytesView(buffer.data(), n), Clock::now());
      after_session_change();
      if (session_.is_dead()) break;
    }
  } catch (const std::exception& e) {
    fail(std::string("read failed: ") + e.what());
  }
}

awaitable<void> MuxedConnection::write_loop() {
  Bytes out;
  try {
    for (;;) {
      while (session_.has_output() && !closed_) {
        session_.take_output(out);
        writer_holds_ = out.size();
        // In slices, each timed by the watchdog: progress is what a slow reader must show.
        for (std::size_t offset = 0; offset < out.size();) {
          const std::size_t n = std::min(config_.write_slice, out.size() - offset);
          slice_started_ = Clock::now();
          if (watchdog_at_ == Clock::time_point::max()) {
            watchdog_at_ = slice_started_ + config_.write_timeout;
            rearm_timer();
          }
          co_await secure_->write_all(BytesView(out.data() + offset, n));
          slice_started_ = Clock::time_point::max();
          offset += n;
          writer_holds_ = out.size() - offset;
        }
        release_output();
        drained_.notify_all();
      }
      if (closing_) break;
      co_await writer_wake_.wait();
    }
  } catch (const std::exception& e) {
    if (close_reason_.empty()) close_reason_ = std::string("write failed: ") + e.what();
  }
  // Closing: every waiter learns it. A clean close lets the GoAway reach the peer. What was not
  // written is dropped and its memory given back.
  closed_ = true;
  slice_started_ = Clock::time_point::max();
  writer_holds_ = 0;
  out = Bytes();
  if (session_.has_output()) session_.take_output(out);
  out = Bytes();
  release_output();
  secure_->close();
  timer_.cancel();
  for (auto& [id, stream] : streams_) stream->wake();
  drained_.notify_all();
  closed_signal_.notify_all();
  if (closed_callback_) std::exchange(closed_callback_, nullptr)();
}

awaitable<void> MuxedConnection::timer_loop() {
  while (!closed_) {
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) break;
    if (!ec) {
      const auto now = Clock::now();
      session_.on_timer(now);
      after_session_change();
      check_watchdog(now);
    }
  }
}

}  // namespace stargate::p2p
