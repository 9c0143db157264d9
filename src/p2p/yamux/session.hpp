#pragma once
// Sans-IO Yamux session (/yamux/1.0.0). Bytes from the wire go in through receive(), the app's
// actions through the stream calls; bytes for the wire come out of take_output() and what happened
// out of poll_event(). Time only ever comes in as `now`, so tests run on a virtual clock and the
// I/O driver decides when to call on_timer() (ask next_timeout() after every call).
//
// A typical driver loop: read from the socket → receive() → drain poll_event() → write
// take_output() to the socket → re-arm the timer with next_timeout().
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "p2p/yamux/config.hpp"
#include "p2p/yamux/events.hpp"
#include "p2p/yamux/frame.hpp"
#include "p2p/yamux/id_tracker.hpp"
#include "p2p/yamux/memory_budget.hpp"
#include "p2p/yamux/reset_memory.hpp"
#include "p2p/yamux/stream_state.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace stargate::p2p::yamux {

class Session {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Queues a ping right away, as go-yamux does: its RTT drives receive-window growth.
  Session(Role role, Config config, TimePoint now);

  // Input from the wire, in any split: whole frames are handled, a partial header is kept (at
  // most 11 bytes) and data payloads are delivered as they arrive, never buffered here.
  void receive(BytesView bytes, TimePoint now);

  // Opens a stream; its SYN (a window update) is queued at once. Fails after a GoAway either way,
  // when the session is dead, at max_streams outbound streams, or when IDs run out.
  Result<StreamId> open_stream();
  // Queues data; returns how many bytes were taken, limited by the peer's window and the output
  // budget. Less than data.size() means: wait for StreamWritable, then write the rest.
  std::size_t write(StreamId id, BytesView data);
  void close_write(StreamId id);  // FIN
  void reset(StreamId id);        // RST; the stream is gone at once
  // The app has used n bytes of StreamData of this stream: hands credit back to the peer.
  void consumed(StreamId id, std::size_t n, TimePoint now);

  // Window growth also takes memory from `budget` (not owned; it must outlive the session), so it
  // stops when the node's memory limits are reached, not only this session's budget.
  void set_memory_budget(MemoryBudget* budget) { memory_ = budget; }

  void ping(TimePoint now);  // no-op while a ping is outstanding
  void go_away(std::uint32_t code = go_away_code::normal);
  void on_timer(TimePoint now);  // keep-alive pings and ping timeout
  std::optional<TimePoint> next_timeout() const;

  bool has_output() const { return !out_.empty(); }
  Bytes take_output();
  // Same, but swaps with the caller's buffer, so a driver can reuse two buffers without allocating.
  void take_output(Bytes& buffer);
  std::optional<Event> poll_event();

  std::size_t stream_count() const { return streams_.size(); }
  bool is_dead() const { return dead_; }
  std::size_t pending_output() const { return out_.size(); }
  std::uint32_t send_window(StreamId id) const;     // 0 for an unknown stream
  std::uint32_t receive_window(StreamId id) const;  // current window size (grows); 0 if unknown
  std::optional<std::chrono::nanoseconds> rtt() const { return rtt_; }
  bool remote_went_away() const { return remote_go_away_; }

 private:
  using StreamMap = std::unordered_map<StreamId, StreamState>;

  // session_input.cpp
  void handle_header(const Header& h, TimePoint now);
  void handle_stream_frame(const Header& h, TimePoint now);
  bool accept_inbound(const Header& h, TimePoint now);
  void handle_ping(const Header& h, TimePoint now);
  void handle_go_away(const Header& h);
  void deliver_payload(BytesView chunk);
  void finish_payload();
  void on_remote_fin(StreamMap::iterator it);
  bool grow_send_window(StreamState& s, std::uint32_t delta);

  // session.cpp
  void send_header(FrameType type, std::uint16_t flags, StreamId id, std::uint32_t length);
  void send_ping(TimePoint now);
  void erase_stream(StreamMap::iterator it);
  void mark_blocked(StreamId id, StreamState& s);
  void notify_writable(StreamId id, StreamState& s);
  void fail(std::string reason, std::uint32_t code);
  bool is_remote_id(StreamId id) const;
  bool was_used(StreamId id) const;
  std::size_t data_output_limit() const;
  std::uint32_t initial_window_delta() const { return config_.initial_window - kDefaultWindow; }

  Config config_;
  Role role_;
  bool dead_ = false;
  bool local_go_away_ = false;
  bool remote_go_away_ = false;

  StreamMap streams_;
  std::size_t inbound_streams_ = 0;
  std::size_t outbound_streams_ = 0;
  std::size_t pending_accept_ = 0;       // StreamOpened events not yet polled
  std::uint64_t window_growth_ = 0;      // sum over streams of (window - initial_window)
  MemoryBudget* memory_ = nullptr;       // window_growth_ is taken from it too
  std::uint64_t next_id_;                // next outbound ID; 64-bit so exhaustion is visible
  IdTracker remote_ids_;
  ResetMemory reset_ids_;
  std::vector<StreamId> blocked_;        // streams with want_writable, checked on take_output

  Bytes out_;
  std::deque<Event> events_;

  // Parser: a header being assembled, or the rest of a data payload being passed through.
  std::array<std::uint8_t, kHeaderSize> header_buf_{};
  std::size_t header_len_ = 0;
  std::uint32_t payload_left_ = 0;
  StreamId payload_stream_ = 0;
  bool payload_deliver_ = false;  // false: discard (stream reset or refused)
  bool payload_fin_ = false;      // the frame carried FIN: apply it after the payload

  // Pings: one of ours outstanding at a time.
  std::uint32_t next_ping_opaque_ = 1;
  std::optional<std::uint32_t> ping_opaque_;
  TimePoint ping_sent_{};
  std::optional<std::chrono::nanoseconds> rtt_;
  TimePoint next_keepalive_{};
  TimePoint now_{};  // latest time seen, for calls that take none (open_stream)
};

}  // namespace stargate::p2p::yamux
