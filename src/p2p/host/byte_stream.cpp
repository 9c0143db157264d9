#include "p2p/host/byte_stream.hpp"

#include "p2p/multistream/multistream.hpp"

#include <algorithm>
#include <cstring>

namespace stargate::p2p {

ByteStream::ByteStream() = default;
ByteStream::~ByteStream() = default;

void ByteStream::expect_selection(std::unique_ptr<multistream::Initiator> initiator) {
  pending_selection_ = std::move(initiator);
}

awaitable<void> ByteStream::await_selection() {
  if (pending_selection_) co_await finish_selection();
}

awaitable<void> ByteStream::finish_selection() {
  std::uint8_t buffer[512];
  while (pending_selection_) {
    std::size_t n = co_await read_some_raw(MutableBytesView(buffer, sizeof buffer));
    if (!pending_selection_) {
      // A concurrent reader (or closer) finished the selection while this one waited: these bytes
      // come after whatever it gave back.
      pushed_back_.insert(pushed_back_.end(), buffer, buffer + n);
      break;
    }
    if (n == 0) throw ErrorException("multistream-select: stream closed before the protocol was confirmed");
    auto consumed = pending_selection_->receive(BytesView(buffer, n));
    if (!consumed) throw ErrorException("multistream-select: " + consumed.error().message);
    if (pending_selection_->done()) {
      pending_selection_.reset();
      unread(BytesView(buffer + *consumed, n - *consumed));
    }
  }
}

awaitable<std::size_t> ByteStream::read_some(MutableBytesView buffer) {
  if (pending_selection_) co_await finish_selection();
  if (pushed_back_offset_ < pushed_back_.size()) {
    std::size_t n = std::min(buffer.size(), pushed_back_.size() - pushed_back_offset_);
    std::memcpy(buffer.data(), pushed_back_.data() + pushed_back_offset_, n);
    pushed_back_offset_ += n;
    if (pushed_back_offset_ == pushed_back_.size()) {
      pushed_back_.clear();
      pushed_back_offset_ = 0;
    }
    co_return n;
  }
  co_return co_await read_some_raw(buffer);
}

awaitable<void> ByteStream::read_exact(MutableBytesView buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    std::size_t n = co_await read_some(buffer.subspan(done));
    if (n == 0) throw SystemError(asio::error::eof);
    done += n;
  }
}

void ByteStream::unread(BytesView bytes) {
  if (bytes.empty()) return;
  Bytes merged(bytes.begin(), bytes.end());
  merged.insert(merged.end(), pushed_back_.begin() + static_cast<std::ptrdiff_t>(pushed_back_offset_), pushed_back_.end());
  pushed_back_ = std::move(merged);
  pushed_back_offset_ = 0;
}

}  // namespace stargate::p2p
