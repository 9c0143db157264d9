#pragma once
// Remembers which of the peer's stream IDs have been used, in constant memory, so a SYN that
// reuses an ID (even of a stream long closed) is caught. Peers do not always open IDs in order
// (go-yamux allocates IDs on several goroutines, rust-yamux sends the SYN with the first write),
// so IDs may arrive out of order within a window of kSpan; an ID that falls below the window is
// treated as used.
#include <bitset>
#include <cstddef>
#include <cstdint>

namespace stargate::p2p::yamux {

class IdTracker {
 public:
  static constexpr std::size_t kSpan = 4096;

  // Records `id` as used; false if it already was (or is too old to tell).
  bool mark(std::uint32_t id);
  bool used(std::uint32_t id) const;

 private:
  // IDs of one parity map to consecutive slots.
  static std::uint64_t slot(std::uint32_t id) { return id >> 1; }

  std::uint64_t low_ = 0;     // every slot below low_ counts as used
  std::bitset<kSpan> bits_;   // slot low_ + i is used iff bits_[i]
};

}  // namespace stargate::p2p::yamux
