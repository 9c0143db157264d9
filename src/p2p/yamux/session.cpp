// Session: construction, the app-facing stream calls, timers and output.
// Input from the wire is handled in session_input.cpp.
#include "p2p/yamux/session.hpp"

#include <algorithm>
#include <utility>

namespace stargate::p2p::yamux {

namespace {

Config normalized(Config c) {
  c.initial_window = std::max(c.initial_window, kDefaultWindow);
  c.max_window = std::max(c.max_window, c.initial_window);
  c.max_send_frame = std::max<std::uint32_t>(c.max_send_frame, 1);
  c.max_frame_data = std::max(c.max_frame_data, kDefaultWindow);  // a SYN may carry 256 KiB
  return c;
}

// Grows `out` geometrically: reserve() with exact sizes would reallocate on every append.
void make_room(Bytes& out, std::size_t more) {
  const std::size_t need = out.size() + more;
  if (need > out.capacity()) out.reserve(std::max(need, out.capacity() * 2));
}

}  // namespace

Session::Session(Role role, Config config, TimePoint now)
    : config_(normalized(config)),
      role_(role),
      next_id_(role == Role::client ? 1 : 2),
      reset_ids_(std::max<std::size_t>(1024, 2 * config_.max_streams)),
      now_(now) {
  if (config_.keepalive_interval.count() > 0) next_keepalive_ = now + config_.keepalive_interval;
  send_ping(now);
}

// ---- streams -----------------------------------------------------------------------------------

Result<StreamId> Session::open_stream() {
  if (dead_) return make_error("yamux: session is dead");
  if (remote_go_away_) return make_error("yamux: peer sent GoAway");
  if (local_go_away_) return make_error("yamux: session is going away");
  if (outbound_streams_ >= config_.max_streams) return make_error("yamux: too many streams");
  if (next_id_ > 0xffffffffu) return make_error("yamux: stream IDs exhausted");
  const auto id = static_cast<StreamId>(next_id_);
  next_id_ += 2;
  streams_.emplace(id, StreamState(true, config_.initial_window, now_));
  ++outbound_streams_;
  // SYN right away (as go-yamux and js-yamux do): the peer learns of the stream and of any
  // window beyond the default even if we never write.
  send_header(FrameType::window_update, flag::syn, id, initial_window_delta());
  return id;
}

std::size_t Session::write(StreamId id, BytesView data) {
  if (dead_ || data.empty()) return 0;
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  StreamState& s = it->second;
  if (s.local_closed) return 0;

  const std::size_t limit = data_output_limit();
  const std::size_t room = out_.size() < limit ? limit - out_.size() : 0;
  const std::size_t n = std::min({data.size(), std::size_t{s.send_window}, room});
  if (n < data.size()) mark_blocked(id, s);
  if (n == 0) return 0;

  const std::size_t frame = config_.max_send_frame;
  make_room(out_, n + kHeaderSize * ((n + frame - 1) / frame));
  for (std::size_t off = 0; off < n;) {
    const std::size_t len = std::min(frame, n - off);
    send_header(FrameType::data, 0, id, static_cast<std::uint32_t>(len));
    out_.insert(out_.end(), data.begin() + static_cast<std::ptrdiff_t>(off),
                data.begin() + static_cast<std::ptrdiff_t>(off + len));
    off += len;
  }
  s.send_window -= static_cast<std::uint32_t>(n);
  return n;
}

void Session::close_write(StreamId id) {
  if (dead_) return;
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.local_closed) return;
  it->second.local_closed = true;
  it->second.want_writable = false;
  // Like go-yamux: FIN on a zero-delta window update.
  send_header(FrameType::window_update, flag::fin, id, 0);
  if (it->second.remote_closed) erase_stream(it);
}

void Session::reset(StreamId id) {
  if (dead_) return;
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  send_header(FrameType::window_update, flag::rst, id, 0);
  erase_stream(it);
  reset_ids_.add(id);
}

void Session::consumed(StreamId id, std::size_t n, TimePoint now) {
  if (dead_ || n == 0) return;
  now_ = std::max(now_, now);
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  StreamState& s = it->second;
  const std::uint32_t before = s.recv.size();
  const std::uint64_t budget = config_.max_connection_window_growth;
  std::uint64_t room = window_growth_ < budget ? budget - window_growth_ : 0;
  if (memory_) room = std::min<std::uint64_t>(room, memory_->room());
  const std::uint32_t delta = s.recv.on_consumed(n, now, rtt_, config_.max_window, room);
  const std::uint32_t grown = s.recv.size() - before;
  window_growth_ += grown;
  if (memory_ && grown > 0) memory_->take(grown);
  // After the peer's FIN it sends nothing more, so credit would be wasted on it.
  if (delta > 0 && !s.remote_closed) send_header(FrameType::window_update, 0, id, delta);
}

void Session::erase_stream(StreamMap::iterator it) {
  StreamState& s = it->second;
  const std::uint64_t grown = s.recv.size() - config_.initial_window;
  window_growth_ -= grown;
  if (memory_ && grown > 0) memory_->give_back(grown);
  (s.outbound ? outbound_streams_ : inbound_streams_) -= 1;
  streams_.erase(it);
}

void Session::mark_blocked(StreamId id, StreamState& s) {
  s.want_writable = true;
  if (!s.in_blocked_list) {
    s.in_blocked_list = true;
    blocked_.push_back(id);
  }
}

void Session::notify_writable(StreamId id, StreamState& s) {
  if (!s.want_writable || s.send_window == 0 || out_.size() >= data_output_limit()) return;
  s.want_writable = false;
  events_.push_back(StreamWritable{id});
}

std::uint32_t Session::send_window(StreamId id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.send_window;
}

std::uint32_t Session::receive_window(StreamId id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? 0 : it->second.recv.size();
}

// ---- session-level -----------------------------------------------------------------------------

void Session::ping(TimePoint now) {
  if (dead_ || ping_opaque_) return;
  now_ = std::max(now_, now);
  send_ping(now);
}

void Session::send_ping(TimePoint now) {
  ping_opaque_ = next_ping_opaque_++;
  ping_sent_ = now;
  send_header(FrameType::ping, flag::syn, 0, *ping_opaque_);
}

void Session::go_away(std::uint32_t code) {
  if (dead_ || local_go_away_) return;
  local_go_away_ = true;
  send_header(FrameType::go_away, 0, 0, code);
}

void Session::on_timer(TimePoint now) {
  if (dead_) return;
  now_ = std::max(now_, now);
  if (ping_opaque_) {
    if (config_.ping_timeout.count() > 0 && now >= ping_sent_ + config_.ping_timeout) {
      fail("yamux: ping timeout", go_away_code::internal_error);
    }
    return;
  }
  if (config_.keepalive_interval.count() > 0 && now >= next_keepalive_) {
    next_keepalive_ = now + config_.keepalive_interval;
    send_ping(now);
  }
}

std::optional<Session::TimePoint> Session::next_timeout() const {
  if (dead_) return std::nullopt;
  if (ping_opaque_) {
    if (config_.ping_timeout.count() > 0) return ping_sent_ + config_.ping_timeout;
    return std::nullopt;
  }
  if (config_.keepalive_interval.count() > 0) return next_keepalive_;
  return std::nullopt;
}

void Session::fail(std::string reason, std::uint32_t code) {
  if (dead_) return;
  dead_ = true;
  // Even after a GoAway of our own: this one tells the peer why we stop.
  local_go_away_ = true;
  send_header(FrameType::go_away, 0, 0, code);
  streams_.clear();
  inbound_streams_ = outbound_streams_ = 0;
  if (memory_ && window_growth_ > 0) memory_->give_back(window_growth_);
  window_growth_ = 0;
  blocked_.clear();
  reset_ids_.clear();
  header_len_ = 0;
  payload_left_ = 0;
  events_.push_back(SessionFailed{std::move(reason)});
}

// ---- output and events -------------------------------------------------------------------------

void Session::send_header(FrameType type, std::uint16_t flags, StreamId id, std::uint32_t length) {
  make_room(out_, kHeaderSize);
  append_header(out_, Header{type, flags, id, length});
}

std::size_t Session::data_output_limit() const {
  return config_.max_pending_output - config_.max_pending_output / 8;
}

Bytes Session::take_output() {
  Bytes out;
  take_output(out);
  return out;
}

void Session::take_output(Bytes& buffer) {
  buffer.clear();
  buffer.swap(out_);
  // Output room came back: writers cut short by the output budget may go on.
  if (blocked_.empty()) return;
  std::vector<StreamId> still;
  for (StreamId id : blocked_) {
    auto it = streams_.find(id);
    if (it == streams_.end()) continue;
    notify_writable(id, it->second);
    if (it->second.want_writable) {
      still.push_back(id);
    } else {
      it->second.in_blocked_list = false;
    }
  }
  blocked_.swap(still);
}

std::optional<Event> Session::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  if (std::holds_alternative<StreamOpened>(e) && pending_accept_ > 0) --pending_accept_;
  return e;
}

bool Session::is_remote_id(StreamId id) const {
  // The client's IDs are odd, so the server's peer (a client) uses odd ones and vice versa.
  const bool odd = (id & 1u) != 0;
  return role_ == Role::server ? odd : !odd;
}

bool Session::was_used(StreamId id) const {
  if (id == 0) return false;
  return is_remote_id(id) ? remote_ids_.used(id) : id < next_id_;
}

}  // namespace stargate::p2p::yamux
