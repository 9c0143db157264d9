#include "nats/sealed/replay_window.hpp"

#include <algorithm>

namespace stargate::nats::sealed {

bool ReplayWindow::can_accept(std::uint64_t n) const {
  if (!any_ || n > top_) return true;
  if (top_ - n >= window_size) return false;
  return ((ring_[(n / word_bits) % words] >> (n % word_bits)) & 1u) == 0;
}

void ReplayWindow::accept(std::uint64_t n) {
  if (!any_) {
    ring_.fill(0);
    top_ = n;
    any_ = true;
  } else if (n > top_) {
    // Clear the words between the old top's word and the new one (at most the whole ring).
    const std::uint64_t old_word = top_ / word_bits;
    const std::uint64_t advance = std::min<std::uint64_t>(n / word_bits - old_word, words);
    for (std::uint64_t i = 1; i <= advance; ++i) ring_[(old_word + i) % words] = 0;
    top_ = n;
  }
  ring_[(n / word_bits) % words] |= std::uint64_t{1} << (n % word_bits);
}

}  // namespace stargate::nats::sealed
