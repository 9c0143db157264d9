#pragma once
// A streamed call on the caller's side, between the path that carries it and the reader
// (CallStream): frames from whichever path is attached go into the inbox, the reader takes them in
// order, and the path is woken to send acknowledgements (the callee's credit) and cancellation.
// The path may change under it: a new one resumes after inbox().received().
#include "agent/stream_inbox.hpp"
#include "base/signal_io.hpp"
#include "stargate/node.hpp"

#include <optional>
#include <string>

namespace stargate::agent {

class StreamingCall {
 public:
  StreamingCall(boost::asio::any_io_executor executor, std::string call_id, std::uint64_t window);

  const std::string& call_id() const { return call_id_; }
  StreamInbox& inbox() { return inbox_; }
  const StreamInbox& inbox() const { return inbox_; }

  // From the path: a frame arrived (duplicates dropped; a gap or a callee over the window is the
  // path's failure, for the caller to resume after).
  StreamInbox::Added deliver(CalleeFrame frame, std::size_t bytes);
  // The call as a whole failed (no tier reached the callee, or every one broke).
  void fail(CallError error);
  bool failed() const { return failure_.has_value(); }
  bool complete() const { return inbox_.complete(); }
  // The path waits on this for acknowledgements to send and for cancellation.
  Signal& path_wake() { return path_wake_; }
  bool cancel_requested() const { return cancel_requested_; }
  // Counted once, by the path that sends it.
  bool take_cancel() { return cancel_requested_ && !cancel_sent_ && (cancel_sent_ = true); }

  // Each path that carries the call takes a ticket; an older path stops once a newer one began (the
  // cascade may give up on a path that is still running).
  std::uint64_t begin_attempt() {
    path_wake_.notify_all();
    return ++attempt_;
  }
  bool current(std::uint64_t attempt) const { return attempt == attempt_ && !failure_; }

  // The reader's side (CallStream).
  boost::asio::awaitable<std::optional<boost::json::value>> next();
  boost::asio::awaitable<boost::json::value> result();
  void cancel();
  bool ended() const { return inbox_.done() || failure_ || cancel_requested_; }

 private:
  std::string call_id_;
  StreamInbox inbox_;
  Signal reader_wake_;
  Signal path_wake_;
  std::optional<CallError> failure_;
  std::optional<Response> final_;
  bool cancel_requested_ = false;
  bool cancel_sent_ = false;
  std::uint64_t attempt_ = 0;
};

}  // namespace stargate::agent
