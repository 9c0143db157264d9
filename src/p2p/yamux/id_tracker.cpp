#include "p2p/yamux/id_tracker.hpp"

namespace stargate::p2p::yamux {

bool IdTracker::mark(std::uint32_t id) {
  const std::uint64_t s = slot(id);
  if (s < low_) return false;
  if (s >= low_ + kSpan) {
    // Slide the window forward; the slots it leaves behind become "used" for good.
    const std::uint64_t advance = s - (low_ + kSpan) + 1;
    if (advance >= kSpan) {
      bits_.reset();
    } else {
      bits_ >>= static_cast<std::size_t>(advance);
    }
    low_ += advance;
  }
  const auto i = static_cast<std::size_t>(s - low_);
  if (bits_[i]) return false;
  bits_[i] = true;
  // Keep the window starting at the first unused slot, so in-order IDs never push old gaps out.
  while (bits_[0]) {
    bits_ >>= 1;
    ++low_;
  }
  return true;
}

bool IdTracker::used(std::uint32_t id) const {
  const std::uint64_t s = slot(id);
  if (s < low_) return true;
  if (s >= low_ + kSpan) return false;
  return bits_[static_cast<std::size_t>(s - low_)];
}

}  // namespace stargate::p2p::yamux
