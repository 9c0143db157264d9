#include "agent/stream_outbox.hpp"

namespace stargate::agent {

void StreamOutbox::push(std::string frame, bool final) {
  if (finished_) return;
  buffered_ += frame.size();
  if (!final) outstanding_ += frame.size();
  frames_.push_back(Frame{next_seq_++, std::move(frame), final});
  finished_ = final;
}

bool StreamOutbox::acknowledge(std::uint64_t seq) {
  if (seq >= cursor_) return false;
  while (acknowledged_ < seq) {
    const Frame& frame = frames_.front();
    buffered_ -= frame.text.size();
    if (!frame.final) outstanding_ -= frame.text.size();
    frames_.pop_front();
    ++acknowledged_;
  }
  return true;
}

bool StreamOutbox::rewind(std::uint64_t after) {
  if (after < acknowledged_ || after >= next_seq_) return false;
  cursor_ = after + 1;
  return true;
}

}  // namespace stargate::agent
