#include "agent/stream_inbox.hpp"

namespace stargate::agent {

StreamInbox::Added StreamInbox::add(CalleeFrame frame, std::size_t bytes) {
  if (frame.seq <= received_) return Added::duplicate;
  if (final_received_) return Added::after_final;
  if (frame.seq != received_ + 1) return Added::gap;
  const bool final = frame.final.has_value();
  if (!final) {
    // What the callee may have outstanding is at least what this side received unacknowledged.
    if (unacknowledged_ > 0 && unacknowledged_ + bytes > window_) return Added::over_window;
    unacknowledged_ += bytes;
  }
  received_ = frame.seq;
  final_received_ = final;
  buffered_ += bytes;
  queue_.push_back(Entry{Item{std::move(frame.partial), std::move(frame.final)}, bytes});
  return Added::queued;
}

std::optional<StreamInbox::Item> StreamInbox::take() {
  if (queue_.empty()) return std::nullopt;
  Entry entry = std::move(queue_.front());
  queue_.pop_front();
  buffered_ -= entry.bytes;
  ++consumed_;
  if (entry.item.final)
    final_taken_ = true;
  else
    consumed_since_ack_ += entry.bytes;
  return std::move(entry.item);
}

std::optional<std::uint64_t> StreamInbox::ack_due() {
  if (consumed_ == acknowledged_) return std::nullopt;
  if (!final_taken_ && consumed_since_ack_ < window_ / 4) return std::nullopt;
  unacknowledged_ -= consumed_since_ack_;
  consumed_since_ack_ = 0;
  acknowledged_ = consumed_;
  return acknowledged_;
}

}  // namespace stargate::agent
