#include "p2p/host/byte_stream.hpp"

#include <algorithm>
#include <cstring>

namespace stargate::p2p {

awaitable<std::size_t> ByteStream::read_some(MutableBytesView buffer) {
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
