#pragma once
// Receive-side flow control of one stream. The peer may send `credit` more bytes; bytes it sent
// are "unconsumed" until the app says it has used them, and are then handed back to the peer in a
// window update once at least half a window has accumulated (fewer, larger updates, as go-yamux
// and rust-yamux do).
//
// Auto-tuning: a fixed 256 KiB window caps one stream at window/RTT (~33 Mbit/s at 60 ms). When
// updates are due less than 2 RTT apart, the sender is being held back by the window rather than
// the app, so the window doubles, up to the per-stream cap and the session's growth budget
// (rust-yamux's rule; go-yamux uses 4 RTT). It never shrinks.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace stargate::p2p::yamux {

class ReceiveWindow {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ReceiveWindow(std::uint32_t size, TimePoint now) : size_(size), credit_(size), last_update_(now) {}

  std::uint32_t size() const { return size_; }
  std::uint32_t credit() const { return credit_; }
  std::uint32_t unconsumed() const { return unconsumed_; }

  // n bytes arrived; false if the peer overran its credit.
  bool on_data(std::uint32_t n);

  // The app consumed n bytes. Returns the window update to send now (0: not worth a frame yet).
  // `growth_room` is how much the session lets this window grow at most.
  std::uint32_t on_consumed(std::size_t n, TimePoint now, std::optional<std::chrono::nanoseconds> rtt,
                            std::uint32_t max_size, std::uint64_t growth_room);

 private:
  std::uint32_t size_;
  std::uint32_t credit_;
  std::uint32_t unconsumed_ = 0;
  TimePoint last_update_;
};

}  // namespace stargate::p2p::yamux
