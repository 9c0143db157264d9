#include "agent/streaming_call.hpp"

#include "agent/call_errors.hpp"

namespace stargate::agent {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

StreamingCall::StreamingCall(asio::any_io_executor executor, std::string call_id, std::uint64_t window)
    : call_id_(std::move(call_id)), inbox_(window), reader_wake_(executor), path_wake_(executor) {}

StreamInbox::Added StreamingCall::deliver(CalleeFrame frame, std::size_t bytes) {
  auto added = inbox_.add(std::move(frame), bytes);
  if (added == StreamInbox::Added::queued) reader_wake_.notify_all();
  return added;
}

void StreamingCall::fail(CallError error) {
  if (failure_ || inbox_.complete()) return;
  failure_ = std::move(error);
  reader_wake_.notify_all();
  path_wake_.notify_all();
}

void StreamingCall::cancel() {
  if (cancel_requested_ || inbox_.done()) return;
  cancel_requested_ = true;
  reader_wake_.notify_all();
  path_wake_.notify_all();
}

awaitable<std::optional<json::value>> StreamingCall::next() {
  for (;;) {
    if (final_) {
      if (!final_->outcome) throw to_call_error(final_->outcome.error());
      co_return std::nullopt;
    }
    if (auto item = inbox_.take()) {
      // The path sends the acknowledgement this may make due.
      path_wake_.notify_all();
      if (item->partial) co_return std::move(*item->partial);
      final_ = std::move(item->final);
      continue;
    }
    if (failure_) throw *failure_;
    if (cancel_requested_) throw call_error(ErrorCode::timeout, "the call was cancelled");
    co_await reader_wake_.wait();
  }
}

awaitable<json::value> StreamingCall::result() {
  for (;;) {
    auto partial = co_await next();  // throws the callee's error
    if (!partial) break;
  }
  co_return final_->outcome.value();
}

}  // namespace stargate::agent

namespace stargate {

CallStream::CallStream(std::shared_ptr<agent::StreamingCall> call) : call_(std::move(call)) {}
CallStream::CallStream(CallStream&&) noexcept = default;
CallStream& CallStream::operator=(CallStream&& other) noexcept {
  if (this != &other) {
    if (call_) call_->cancel();
    call_ = std::move(other.call_);
  }
  return *this;
}
CallStream::~CallStream() {
  if (call_) call_->cancel();
}

boost::asio::awaitable<std::optional<boost::json::value>> CallStream::next() { return call_->next(); }
boost::asio::awaitable<boost::json::value> CallStream::result() { return call_->result(); }
void CallStream::cancel() { call_->cancel(); }
const std::string& CallStream::call_id() const { return call_->call_id(); }
std::uint64_t CallStream::buffered_bytes() const { return call_->inbox().buffered_bytes(); }

}  // namespace stargate
