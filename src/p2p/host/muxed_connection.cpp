#include "p2p/host/muxed_connection.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <cstring>

namespace stargate::p2p {
namespace {

auto logger() {
  static auto l = log::get("yamux");
  return l;
}

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
  session_.go_away(0);
  after_session_change();
}

awaitable<void> MuxedConnection::wait_closed() {
  while (!closed_) co_await closed_signal_.wait();
}

void MuxedConnection::after_session_change() {
  drain_events();
  if (session_.has_output() || closing_) writer_wake_.notify_all();
  // Re-arming the timer wakes timer_loop, which then waits for the session's new deadline.
  auto next = session_.next_timeout().value_or(Clock::time_point::max());
  if (next != timer_.expiry()) timer_.expires_at(next);
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
                     logger()->debug("peer sent GoAway (code {})", e.code);
                   },
                   [&](yamux::SessionFailed& e) { fail("yamux: " + e.reason); },
               },
               *event);
  }
}

void MuxedConnection::fail(std::string reason) {
  if (closed_) return;
  if (close_reason_.empty()) close_reason_ = std::move(reason);
  logger()->debug("connection closed: {}", close_reason_);
  closing_ = true;
  writer_wake_.notify_all();
}

awaitable<void> MuxedConnection::write_stream(MuxedStream& stream, BytesView data) {
  while (!data.empty()) {
    if (stream.reset_) throw SystemError(asio::error::connection_reset);
    if (closed_ || closing_) throw SystemError(asio::error::connection_aborted);
    if (stream.local_closed_) throw SystemError(asio::error::shut_down);
    if (session_.pending_output() >= config_.output_high_water) {
      co_await drained_.wait();
      continue;
    }
    std::size_t accepted = session_.write(stream.id_, data);
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
  try {
    for (;;) {
      while (session_.has_output()) {
        Bytes out = session_.take_output();
        co_await secure_->write_all(out);
        drained_.notify_all();
      }
      if (closing_) break;
      co_await writer_wake_.wait();
    }
  } catch (const std::exception& e) {
    if (close_reason_.empty()) close_reason_ = std::string("write failed: ") + e.what();
  }
  // Closing: every waiter learns it. A clean close lets the GoAway reach the peer.
  closed_ = true;
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
      session_.on_timer(Clock::now());
      after_session_change();
    }
  }
}

}  // namespace stargate::p2p
