#pragma once
// Sliding anti-replay window over 64-bit message counters (RFC 6479, as WireGuard uses it): a ring
// of 2048 bits in 64-bit words. A counter is accepted once if it is above the highest seen or within
// the last window_size counters below it and not yet seen; everything older is rejected. Reordered
// messages (NATS with concurrent publishers) are thus accepted exactly once.
//
// Check before authenticating, update only after the message authenticated:
//   if (!w.can_accept(n)) reject; if (!aead_open(...)) reject; w.accept(n);
#include <array>
#include <cstddef>
#include <cstdint>

namespace stargate::nats::sealed {

class ReplayWindow {
 public:
  static constexpr std::size_t ring_bits = 2048;
  static constexpr std::size_t word_bits = 64;
  static constexpr std::size_t words = ring_bits / word_bits;
  // How far below the highest counter a counter may still be accepted (one word is kept free so the
  // ring never overwrites a word that is still inside the window).
  static constexpr std::uint64_t window_size = ring_bits - word_bits;  // 1984

  // True if `n` has not been accepted yet and is not too old.
  bool can_accept(std::uint64_t n) const;
  // Marks `n` as seen; call only after can_accept(n) and authentication.
  void accept(std::uint64_t n);

  bool empty() const { return !any_; }
  std::uint64_t highest() const { return top_; }

 private:
  std::array<std::uint64_t, words> ring_{};
  std::uint64_t top_ = 0;
  bool any_ = false;
};

}  // namespace stargate::nats::sealed
