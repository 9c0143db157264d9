// Session: bytes from the wire. Every protocol violation ends in fail(), which queues a GoAway
// (protocol error) and kills the session; a stream-level refusal is an RST instead.
#include "p2p/yamux/session.hpp"

#include <algorithm>
#include <cstring>

namespace stargate::p2p::yamux {

namespace {
constexpr std::size_t kCoalesceLimit = 16 * 1024;
}  // namespace

void Session::receive(BytesView in, TimePoint now) {
  if (dead_) return;
  now_ = std::max(now_, now);
  while (!in.empty() && !dead_) {
    if (payload_left_ > 0) {
      const std::size_t n = std::min<std::size_t>(payload_left_, in.size());
      if (payload_deliver_) deliver_payload(in.first(n));
      in = in.subspan(n);
      payload_left_ -= static_cast<std::uint32_t>(n);
      if (payload_left_ == 0) finish_payload();
      continue;
    }
    const std::uint8_t* header = nullptr;
    if (header_len_ == 0 && in.size() >= kHeaderSize) {
      // Common case: the whole header is in this read; parse it in place.
      header = in.data();
      in = in.subspan(kHeaderSize);
    } else {
      const std::size_t n = std::min(kHeaderSize - header_len_, in.size());
      std::memcpy(header_buf_.data() + header_len_, in.data(), n);
      header_len_ += n;
      in = in.subspan(n);
      if (header_len_ < kHeaderSize) return;
      header_len_ = 0;
      header = header_buf_.data();
    }
    const Result<Header> h = decode_header(BytesView(header, kHeaderSize));
    if (!h) {
      fail(h.error().message, go_away_code::protocol_error);
      return;
    }
    handle_header(*h, now);
    // A peer that keeps provoking replies (pings, SYNs) without reading ours would make us
    // buffer without end.
    if (!dead_ && out_.size() > config_.max_pending_output) {
      fail("yamux: peer does not read (pending output over limit)", go_away_code::internal_error);
    }
  }
}

void Session::handle_header(const Header& h, TimePoint now) {
  switch (h.type) {
    case FrameType::data:
      if (h.length > config_.max_frame_data) {
        fail("yamux: data frame larger than max_frame_data", go_away_code::protocol_error);
        return;
      }
      [[fallthrough]];
    case FrameType::window_update:
      if (h.stream_id == 0) {
        fail("yamux: stream frame on stream 0", go_away_code::protocol_error);
        return;
      }
      handle_stream_frame(h, now);
      return;
    case FrameType::ping:
      handle_ping(h, now);
      return;
    case FrameType::go_away:
      handle_go_away(h);
      return;
  }
}

// Sets up the payload state (payload_left_ etc.) for data frames; the caller streams the body.
void Session::handle_stream_frame(const Header& h, TimePoint now) {
  const bool is_data = h.type == FrameType::data;
  const std::uint32_t data_len = is_data ? h.length : 0;
  payload_left_ = data_len;
  payload_stream_ = h.stream_id;
  payload_deliver_ = false;
  payload_fin_ = false;

  auto it = streams_.find(h.stream_id);
  if (h.has(flag::syn)) {
    if (!accept_inbound(h, now)) return;
    it = streams_.find(h.stream_id);
  } else if (it == streams_.end()) {
    if (!was_used(h.stream_id)) {
      fail("yamux: frame for unknown stream " + std::to_string(h.stream_id), go_away_code::protocol_error);
      return;
    }
    // A stream we reset may still have frames in flight; after a clean close or the peer's RST
    // only window updates (and empty frames) can be late, never data.
    if (data_len > 0 && !reset_ids_.contains(h.stream_id)) {
      fail("yamux: data for closed stream " + std::to_string(h.stream_id), go_away_code::protocol_error);
    }
    return;
  } else if (h.has(flag::ack) && it->second.outbound) {
    it->second.acked = true;
  }

  StreamState& s = it->second;
  if (h.type == FrameType::window_update && !grow_send_window(s, h.length)) return;
  if (h.has(flag::rst)) {
    erase_stream(it);
    events_.push_back(StreamReset{h.stream_id});
    return;  // any payload is discarded
  }
  if (data_len > 0) {
    if (s.remote_closed) {
      fail("yamux: data after FIN on stream " + std::to_string(h.stream_id), go_away_code::protocol_error);
      return;
    }
    if (!s.recv.on_data(data_len)) {
      fail("yamux: data exceeds receive window of stream " + std::to_string(h.stream_id),
           go_away_code::protocol_error);
      return;
    }
    payload_deliver_ = true;
    payload_fin_ = h.has(flag::fin);
    return;  // FIN takes effect after the payload (finish_payload)
  }
  if (h.has(flag::fin)) {
    on_remote_fin(it);
    return;
  }
  notify_writable(h.stream_id, s);
}

// A SYN: checks it, then creates the stream or refuses it with RST. Returns true when the stream
// now exists and the rest of the frame applies to it.
bool Session::accept_inbound(const Header& h, TimePoint now) {
  const StreamId id = h.stream_id;
  if (!is_remote_id(id)) {
    fail("yamux: SYN with our own stream ID parity: " + std::to_string(id), go_away_code::protocol_error);
    return false;
  }
  // Checked before anything is created for it (rust-yamux CVE-2026-32314): the peer cannot have
  // more credit than the default window before we answered.
  if (h.type == FrameType::data && h.length > kDefaultWindow) {
    fail("yamux: SYN data exceeds the initial window", go_away_code::protocol_error);
    return false;
  }
  if (streams_.count(id) != 0 || !remote_ids_.mark(id)) {
    fail("yamux: stream ID reused: " + std::to_string(id), go_away_code::protocol_error);
    return false;
  }
  if (h.has(flag::rst)) return false;  // opened and reset in one frame: nothing to tell the app
  if (local_go_away_ || inbound_streams_ >= config_.max_streams ||
      pending_accept_ >= config_.max_inbound_pending_accept) {
    send_header(FrameType::window_update, flag::rst, id, 0);
    reset_ids_.add(id);
    return false;
  }
  streams_.emplace(id, StreamState(false, config_.initial_window, now));
  ++inbound_streams_;
  ++pending_accept_;
  events_.push_back(StreamOpened{id});
  // ACK at once (as js-yamux does), carrying any window beyond the default.
  send_header(FrameType::window_update, flag::ack, id, initial_window_delta());
  return true;
}

bool Session::grow_send_window(StreamState& s, std::uint32_t delta) {
  if (std::uint64_t{s.send_window} + delta > 0xffffffffu) {
    fail("yamux: send window overflow", go_away_code::protocol_error);
    return false;
  }
  s.send_window += delta;
  return true;
}

void Session::deliver_payload(BytesView chunk) {
  // The app may have reset the stream between two reads of one frame.
  if (streams_.find(payload_stream_) == streams_.end()) return;
  if (!events_.empty()) {
    // Coalesce small pieces with the previous event when it is data for the same stream: a run of
    // small frames, or a byte-at-a-time feed, then costs one event, not one per frame. Large
    // pieces get their own event: growing one big buffer by reallocation is slower (glibc maps
    // and unmaps each block over 128 KiB) than one allocation per piece.
    if (auto* d = std::get_if<StreamData>(&events_.back());
        d != nullptr && d->id == payload_stream_ && d->data.size() < kCoalesceLimit) {
      d->data.insert(d->data.end(), chunk.begin(), chunk.end());
      return;
    }
  }
  events_.push_back(StreamData{payload_stream_, Bytes(chunk.begin(), chunk.end())});
}

void Session::finish_payload() {
  if (!payload_deliver_ || !payload_fin_) return;
  payload_fin_ = false;
  auto it = streams_.find(payload_stream_);
  if (it != streams_.end()) on_remote_fin(it);
}

void Session::on_remote_fin(StreamMap::iterator it) {
  StreamState& s = it->second;
  if (s.remote_closed) return;
  s.remote_closed = true;
  events_.push_back(StreamRemoteClosed{it->first});
  if (s.local_closed) erase_stream(it);
}

void Session::handle_ping(const Header& h, TimePoint now) {
  if (h.has(flag::syn)) {
    send_header(FrameType::ping, flag::ack, 0, h.length);
  } else if (h.has(flag::ack) && ping_opaque_ && *ping_opaque_ == h.length) {
    ping_opaque_.reset();
    rtt_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::max(now - ping_sent_, std::chrono::steady_clock::duration::zero()));
    events_.push_back(PingRtt{*rtt_});
  }
}

void Session::handle_go_away(const Header& h) {
  if (remote_go_away_) return;
  remote_go_away_ = true;
  events_.push_back(GoAwayReceived{h.length});
}

}  // namespace stargate::p2p::yamux
