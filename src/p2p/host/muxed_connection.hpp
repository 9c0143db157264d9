#pragma once
// A secured connection multiplexed with Yamux: the thin coroutine layer around yamux::Session.
// Three coroutines per connection: a reader (wire -> session -> streams), a writer
// (session output -> wire) and a timer (keep-alive). Streams are ByteStreams.
#include "base/multiaddr.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/byte_stream.hpp"
#include "p2p/host/resource_manager.hpp"
#include "p2p/host/signal.hpp"
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
  // A writer waits while this many bytes wait for the socket: backpressure from a slow peer.
  std::size_t output_high_water = 4 * 1024 * 1024;
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
  std::string close_reason_;
  std::function<void()> closed_callback_;
  std::function<void(std::size_t)> streams_callback_;
  std::size_t background_streams_ = 0;
};

}  // namespace stargate::p2p
