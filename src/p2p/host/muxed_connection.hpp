#pragma once
// A secured connection multiplexed with Yamux: the thin coroutine layer around yamux::Session.
// Three coroutines per connection: a reader (wire -> session -> streams), a writer
// (session output -> wire) and a timer (keep-alive). Streams are ByteStreams.
#include "base/multiaddr.hpp"
#include "base/signal_io.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/byte_stream.hpp"
#include "p2p/host/resource_manager.hpp"
#include "p2p/yamux/session.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate::p2p {

class MuxedConnection;

class MuxedStream final : public ByteStream {
 public:
  MuxedStream(std::shared_ptr<MuxedConnection> connection, yamux::StreamId id);
  ~MuxedStream() override;

  awaitable<void> write_all(BytesView data) override;
  awaitable<void> close_write() override;
  void reset() override;
  void close() override;

  yamux::StreamId id() const { return id_; }
  MuxedConnection& connection() { return *connection_; }
  // The protocol negotiated on this stream (set by the host after multistream-select).
  const std::string& protocol() const { return protocol_; }
  void set_protocol(std::string protocol) { protocol_ = std::move(protocol); }
  // A long-lived stream that does not make its connection busy (gossipsub's): the pool may close
  // a connection idle but for such streams, as it would one with none.
  void set_background();
  // The stream's place in the resource manager's scopes (set by the host when it admits the
  // stream): services reserve the memory for what they buffer through it.
  StreamScope& resources() { return scope_; }
  void set_resources(StreamScope scope) { scope_ = std::move(scope); }

 protected:
  awaitable<std::size_t> read_some_raw(MutableBytesView buffer) override;

 private:
  friend class MuxedConnection;
  void on_data(Bytes data);
  void on_remote_closed();
  void on_reset();
  void wake() { signal_.notify_all(); }

  std::shared_ptr<MuxedConnection> connection_;
  yamux::StreamId id_;
  bool background_ = false;
  std::string protocol_;
  Signal signal_;
  Bytes received_;
  std::size_t received_offset_ = 0;
  bool remote_closed_ = false;
  bool local_closed_ = false;
  bool reset_ = false;
  // Last: released after everything else of the stream is gone.
  StreamScope scope_;
};

struct MuxedConnectionConfig {
  yamux::Config yamux;
  // Stream writes wait while this many bytes wait for the socket (queued in the session or being
  // written): backpressure from a slow peer. These bytes are also reserved from the connection's
  // memory budget (peer and node scopes of the resource manager) while they wait.
  std::size_t output_high_water = 4 * 1024 * 1024;
  // Output goes to the socket in slices of at most this many bytes, each of which must be written
  // within write_timeout: a peer that stops reading is disconnected then, its queued output
  // dropped and its grants returned (the bound a slow reader holds memory for).
  std::size_t write_slice = 256 * 1024;
  std::chrono::milliseconds write_timeout{20'000};
  // After close() (GoAway) or a failure (keep-alive timeout, protocol error), output still queued
  // gets this long to reach the peer; then the socket is aborted.
  std::chrono::milliseconds close_timeout{5'000};
};

struct ConnectionInfo {
  crypto::PeerId remote_peer;
  Multiaddr local_addr;
  Multiaddr remote_addr;
  bool outbound = false;
  bool relayed = false;  // through a Circuit Relay v2 relay: limited, and slower than direct
  // What the relay allows a relayed connection (none: no limit of that kind).
  std::optional<std::uint64_t> data_limit;  // bytes in each direction
  std::optional<std::chrono::seconds> duration_limit;
  Clock::time_point opened{};
};

class MuxedConnection : public std::enable_shared_from_this<MuxedConnection> {
 public:
  using InboundHandler = std::function<void(std::shared_ptr<MuxedStream>)>;

  MuxedConnection(asio::any_io_executor executor, std::unique_ptr<ByteStream> secure, ConnectionInfo info,
                  MuxedConnectionConfig config);
  const ConnectionInfo& info() const { return info_; }
  ~MuxedConnection();

  // Starts the reader, writer and timer; `on_inbound` receives every stream the peer opens.
  void start(InboundHandler on_inbound);
  std::shared_ptr<MuxedStream> open_stream();
  // Window growth then also takes memory from `budget` (the node's limits); before start().
  void set_memory_budget(std::unique_ptr<yamux::MemoryBudget> budget);
  // Sends GoAway, then closes the socket once pending output is written.
  void close();
  bool is_closed() const { return closed_; }
  // Closing or closed: no new streams (GoAway sent, or the connection failed).
  bool is_closing() const { return closing_ || closed_; }
  const std::string& close_reason() const { return close_reason_; }
  // Completes when the connection is closed, from either side.
  awaitable<void> wait_closed();
  std::size_t stream_count() const { return streams_.size(); }
  // Streams that keep the connection busy: all but the background ones.
  std::size_t busy_stream_count() const { return streams_.size() - background_streams_; }
  // Called whenever the connection closes (for the host's bookkeeping).
  void on_closed(std::function<void()> callback) { closed_callback_ = std::move(callback); }
  // Called with busy_stream_count() whenever a stream opens (either side), goes, or turns
  // background (for the pool).
  void on_streams_changed(std::function<void(std::size_t)> callback) { streams_callback_ = std::move(callback); }

 private:
  friend class MuxedStream;
  awaitable<void> read_loop();
  awaitable<void> write_loop();
  awaitable<void> timer_loop();
  void drain_events();
  void after_session_change();
  void fail(std::string reason);
  awaitable<void> write_stream(MuxedStream& stream, BytesView data);
  void forget(yamux::StreamId id) { streams_.erase(id); }
  // Bytes waiting for the socket: in the session, and in the writer's hands.
  std::size_t buffered() const { return session_.pending_output() + writer_holds_; }
  // How many of `wanted` more bytes may be queued now: within the high-water mark and reserved from
  // the memory budget (one frame's worth when nothing is buffered, so that a connection always
  // makes progress). 0: wait for output to drain.
  std::size_t reserve_output(std::size_t wanted);
  // Gives back what is reserved beyond buffered().
  void release_output();
  // Closes the socket now (queued output is dropped): a peer that stopped reading, or a close that
  // took longer than close_timeout.
  void abort(std::string reason);
  // The earliest of the session's timer and the writer's watchdog.
  void rearm_timer();
  void check_watchdog(Clock::time_point now);

  std::unique_ptr<ByteStream> secure_;
  ConnectionInfo info_;
  std::unique_ptr<yamux::MemoryBudget> memory_budget_;  // declared before session_: outlives it
  yamux::Session session_;
  MuxedConnectionConfig config_;
  InboundHandler on_inbound_;
  std::unordered_map<yamux::StreamId, MuxedStream*> streams_;
  Signal writer_wake_;   // output to write, or closing
  Signal drained_;       // output went to the socket
  Signal closed_signal_;
  asio::steady_timer timer_;
  bool closed_ = false;
  bool closing_ = false;
  Clock::time_point closing_since_{};
  // The writer's slice in progress (none: Clock::time_point::max()), and when the watchdog looks
  // at it next: the timer is re-armed for it at most once per write_timeout, not per write.
  Clock::time_point slice_started_ = Clock::time_point::max();
  Clock::time_point watchdog_at_ = Clock::time_point::max();
  std::size_t writer_holds_ = 0;    // output taken from the session, not yet written
  std::size_t output_reserved_ = 0;  // bytes of output reserved from memory_budget_
  std::string close_reason_;
  std::function<void()> closed_callback_;
  std::function<void(std::size_t)> streams_callback_;
  std::size_t background_streams_ = 0;
};

}  // namespace stargate::p2p
