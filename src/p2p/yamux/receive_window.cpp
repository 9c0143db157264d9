#include "p2p/yamux/receive_window.hpp"

#include <algorithm>

namespace stargate::p2p::yamux {

bool ReceiveWindow::on_data(std::uint32_t n) {
  if (n > credit_) return false;
  credit_ -= n;
  unconsumed_ += n;
  return true;
}

std::uint32_t ReceiveWindow::on_consumed(std::size_t n, TimePoint now,
                                         std::optional<std::chrono::nanoseconds> rtt,
                                         std::uint32_t max_size, std::uint64_t growth_room) {
  unconsumed_ -= static_cast<std::uint32_t>(std::min<std::size_t>(n, unconsumed_));
  // Invariant: credit_ + unconsumed_ + (consumed, not yet returned) == size_.
  std::uint32_t update = size_ - credit_ - unconsumed_;
  if (update < size_ / 2) return 0;

  if (rtt && rtt->count() > 0 && now - last_update_ < 2 * *rtt && size_ < max_size && growth_room > 0) {
    const std::uint64_t doubled = std::uint64_t{size_} * 2;
    const std::uint64_t grown =
        std::min<std::uint64_t>({doubled, max_size, std::uint64_t{size_} + growth_room});
    size_ = static_cast<std::uint32_t>(grown);
    update = size_ - credit_ - unconsumed_;
  }
  last_update_ = now;
  credit_ += update;
  return update;
}

}  // namespace stargate::p2p::yamux
