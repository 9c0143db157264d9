#include "agent/served_stream.hpp"

#include "agent/call_errors.hpp"
#include "agent/stream_frames.hpp"

namespace stargate::agent {

namespace asio = boost::asio;
using asio::awaitable;

ServedStream::ServedStream(asio::any_io_executor executor, std::string caller, std::string call_id, std::uint64_t window)
    : caller_(std::move(caller)), call_id_(std::move(call_id)), outbox_(window), changed_(std::move(executor)) {}

awaitable<void> ServedStream::send(boost::json::value partial) {
  std::string frame;
  for (;;) {
    if (cancelled_) throw CallError(static_cast<int>(ErrorCode::timeout), "the call was cancelled: " + cancel_reason_.value_or(""));
    // Numbered when it is queued: the handler may have several sends waiting (and is told about
    // an oversized partial before it waits for room).
    const auto seq = outbox_.next_seq();
    frame.clear();
    append_partial_frame(frame, seq, partial);
    if (frame.size() > kMaxPartialBytes) {
      auto error = payload_too_large_error(frame.size(), kMaxPartialBytes);
      throw CallError(error.code, "partial result too large: " + error.message, error.data);
    }
    if (outbox_.finished()) throw CallError(static_cast<int>(ErrorCode::internal_error), "the stream has ended");
    if (outbox_.has_room(frame.size())) break;
    co_await changed_.wait();
    // Another send() may have taken the number meanwhile: serialize again with the next one.
    if (outbox_.next_seq() == seq && outbox_.has_room(frame.size()) && !cancelled_) break;
  }
  outbox_.push(std::move(frame), false);
  changed_.notify_all();
}

bool ServedStream::attach(std::uint64_t after, std::uint64_t& attachment) {
  // The window stays the one granted when the stream opened (the registry accounts it).
  if (!outbox_.rewind(after)) return false;
  attachment = ++attachment_;
  attached_ = true;
  changed_.notify_all();
  return true;
}

void ServedStream::detach(std::uint64_t attachment, std::chrono::steady_clock::time_point now) {
  if (!current(attachment)) return;
  attached_ = false;
  detached_since_ = now;
  changed_.notify_all();
}

void ServedStream::acknowledge(std::uint64_t seq) {
  if (outbox_.acknowledge(seq)) changed_.notify_all();
}

void ServedStream::cancel(std::string why) {
  if (cancelled_) return;
  cancelled_ = true;
  cancel_reason_ = std::move(why);
  handler_cancel_.emit(asio::cancellation_type::terminal);
  changed_.notify_all();
  if (on_cancel_) on_cancel_();
}

void ServedStream::finish(std::string_view response) {
  outbox_.push(make_final_frame(outbox_.next_seq(), response), true);
  changed_.notify_all();
}

std::string ServedStreams::key(std::string_view caller, std::string_view call_id) {
  std::string k(caller);
  k += '\n';
  k += call_id;
  return k;
}

std::shared_ptr<ServedStream> ServedStreams::find(const std::string& key) const {
  auto it = streams_.find(key);
  return it == streams_.end() ? nullptr : it->second;
}

std::optional<std::string> ServedStreams::full(const std::string& caller, std::uint64_t window) const {
  if (streams_.size() >= limits_.max_streams)
    return "node busy: " + std::to_string(streams_.size()) + " streamed calls open";
  if (window_bytes_ + window > limits_.max_window_bytes)
    return "node busy: " + std::to_string(window_bytes_) + " bytes of stream windows granted";
  if (auto it = per_caller_.find(caller); it != per_caller_.end()) {
    if (it->second.streams >= limits_.max_streams_per_caller)
      return "too many streamed calls open from this caller (" + std::to_string(it->second.streams) + ")";
    if (it->second.window_bytes + window > limits_.max_window_bytes_per_caller)
      return "this caller's streams hold " + std::to_string(it->second.window_bytes) + " bytes of windows";
  }
  return std::nullopt;
}

void ServedStreams::add(const std::string& key, std::shared_ptr<ServedStream> stream) {
  auto& share = per_caller_[stream->caller()];
  ++share.streams;
  share.window_bytes += stream->outbox().window();
  window_bytes_ += stream->outbox().window();
  streams_[key] = std::move(stream);
}

void ServedStreams::remove(const std::string& key) {
  auto it = streams_.find(key);
  if (it == streams_.end()) return;
  const auto window = it->second->outbox().window();
  window_bytes_ -= window;
  if (auto c = per_caller_.find(it->second->caller()); c != per_caller_.end()) {
    c->second.window_bytes -= window;
    if (--c->second.streams == 0) per_caller_.erase(c);
  }
  streams_.erase(it);
}

void ServedStreams::expire(std::chrono::steady_clock::time_point now) {
  std::vector<std::string> gone;
  for (auto& [key, stream] : streams_) {
    if (stream->outbox().drained()) {
      gone.push_back(key);
    } else if (!stream->attached() && now - stream->detached_since() >= limits_.resume_window) {
      stream->cancel("the caller did not come back within " + std::to_string(limits_.resume_window.count()) + " ms");
      if (stream->outbox().finished()) gone.push_back(key);
    }
  }
  for (const auto& key : gone) remove(key);
}

void ServedStreams::cancel_all(const std::string& why) {
  for (auto& [key, stream] : streams_) stream->cancel(why);
}

std::uint64_t ServedStreams::buffered_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [key, stream] : streams_) total += stream->outbox().buffered_bytes();
  return total;
}

}  // namespace stargate::agent
