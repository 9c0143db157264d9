#pragma once
// The caller's side of a streamed call, sans-IO: takes the callee's frames in order, exactly once
// (a duplicate — a frame sent again after a resume, or repeated by the broker — is dropped; a gap
// means frames were lost and the caller must resume after received()), holds them until the
// consumer takes them, and says when to acknowledge what was consumed so the callee's window
// opens again. A callee that sends more partial bytes than the window allows is refused.
#include "agent/stream_frames.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace stargate::agent {

class StreamInbox {
 public:
  explicit StreamInbox(std::uint64_t window) : window_(window) {}

  enum class Added { queued, duplicate, gap, over_window, after_final };
  // `bytes`: the frame's text size, as the callee counts it.
  Added add(CalleeFrame frame, std::size_t bytes);

  struct Item {
    std::optional<boost::json::value> partial;
    std::optional<Response> final;
  };
  // The next frame in order, if one is here.
  std::optional<Item> take();
  // The sequence number to acknowledge now, if any (then counted as sent): once a quarter of the
  // window was consumed since the last one, and for the final frame.
  std::optional<std::uint64_t> ack_due();

  std::uint64_t window() const { return window_; }
  std::uint64_t received() const { return received_; }  // the last frame received in order
  bool complete() const { return final_received_; }     // the final frame is here (maybe not taken)
  bool done() const { return final_taken_; }
  bool empty() const { return queue_.empty(); }
  std::uint64_t buffered_bytes() const { return buffered_; }

 private:
  struct Entry {
    Item item;
    std::size_t bytes;
  };
  std::uint64_t window_;
  std::deque<Entry> queue_;
  std::uint64_t received_ = 0;
  std::uint64_t consumed_ = 0;
  std::uint64_t acknowledged_ = 0;
  std::uint64_t buffered_ = 0;            // bytes of frames queued
  std::uint64_t unacknowledged_ = 0;      // partial bytes received after the last acknowledgement
  std::uint64_t consumed_since_ack_ = 0;  // partial bytes consumed since then
  bool final_received_ = false;
  bool final_taken_ = false;
};

}  // namespace stargate::agent
