#pragma once
// The callee's side of a streamed call, sans-IO: numbers the frames, keeps every frame the caller
// has not acknowledged (the resume buffer), and says when the caller's credit lets another partial
// go. The frames are kept as their text, so a resume over another tier re-sends the same bytes.
//
// Bounds: partial frames outstanding (sent or queued, not acknowledged) stay within the window
// (one partial always fits an empty window), and the final frame, at most kMaxMessageBytes, comes
// on top: buffered_bytes() <= window + kMaxMessageBytes.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace stargate::agent {

class StreamOutbox {
 public:
  explicit StreamOutbox(std::uint64_t window) : window_(window) {}

  std::uint64_t window() const { return window_; }

  // Whether a partial frame of `bytes` may be queued now.
  bool has_room(std::size_t bytes) const { return outstanding_ == 0 || outstanding_ + bytes <= window_; }
  // The sequence number the next frame must carry.
  std::uint64_t next_seq() const { return next_seq_; }
  // Queues the next frame, made with next_seq(). Nothing is queued after the final frame.
  void push(std::string frame, bool final);

  // The frames not sent yet on the current path, in order: unsent(0) … unsent(unsent_count()-1).
  std::size_t unsent_count() const { return static_cast<std::size_t>(next_seq_ - cursor_); }
  const std::string& unsent(std::size_t i) const { return frames_[static_cast<std::size_t>(cursor_ - first_kept() + i)].text; }
  void mark_sent(std::size_t count) { cursor_ += count; }

  // The caller consumed every frame through `seq`: they are dropped and their credit returns.
  // False (and nothing changes) when `seq` was never sent: the caller cannot have consumed it.
  bool acknowledge(std::uint64_t seq);
  // The caller re-attaches having received every frame through `after`: the frames after it are
  // sent again. False when it claims frames never sent or fewer than it acknowledged.
  bool rewind(std::uint64_t after);

  bool finished() const { return finished_; }  // the final frame is queued
  bool all_sent() const { return finished_ && cursor_ == next_seq_; }
  bool drained() const { return finished_ && acknowledged_ + 1 == next_seq_; }  // the final frame acknowledged
  std::uint64_t acknowledged() const { return acknowledged_; }
  std::uint64_t outstanding_bytes() const { return outstanding_; }
  std::uint64_t buffered_bytes() const { return buffered_; }

 private:
  struct Frame {
    std::uint64_t seq;
    std::string text;
    bool final;
  };
  std::uint64_t first_kept() const { return acknowledged_ + 1; }

  std::uint64_t window_;
  std::deque<Frame> frames_;  // acknowledged_+1 … next_seq_-1
  std::uint64_t next_seq_ = 1;
  std::uint64_t cursor_ = 1;  // the next frame to send
  std::uint64_t acknowledged_ = 0;
  std::uint64_t outstanding_ = 0;  // bytes of partials kept
  std::uint64_t buffered_ = 0;     // bytes of every frame kept
  bool finished_ = false;
};

}  // namespace stargate::agent
