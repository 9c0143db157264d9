#pragma once
// A streamed call this node serves (docs/protocol.md, "Streamed results"): the handler's partials
// go into its outbox (StreamOutbox, which keeps what the caller has not acknowledged), whatever
// path the caller is attached through writes them out, and the caller may re-attach over any tier
// after its path broke. The registry holds them by (caller, call ID), so only the caller that
// opened a stream can resume or cancel it, and bounds how many there are and how long a stream
// nobody is attached to waits for its caller.
#include "agent/stream_outbox.hpp"
#include "base/signal_io.hpp"
#include "stargate/node.hpp"

#include <boost/asio/cancellation_signal.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate::agent {

struct ServedStreamLimits {
  std::size_t max_streams = 256;           // streamed calls kept at once (running or finishing)
  std::size_t max_streams_per_caller = 32;
  // The windows callers were granted, summed: what the kept frames can grow to. A stream whose
  // window would go beyond either is refused (node busy), so memory stays bounded however many
  // callers ask for large windows.
  std::uint64_t max_window_bytes = 256ull * 1024 * 1024;
  std::uint64_t max_window_bytes_per_caller = 64ull * 1024 * 1024;
  // How long a stream whose caller's path broke waits for it to re-attach before the handler is
  // cancelled and its frames dropped; the same for a finished stream whose final frame the caller
  // has not acknowledged.
  std::chrono::milliseconds resume_window = std::chrono::seconds(30);
};

class ServedStream : public ResultStream {
 public:
  ServedStream(boost::asio::any_io_executor executor, std::string caller, std::string call_id, std::uint64_t window);

  // ResultStream: waits for the caller's credit; throws once the call is cancelled.
  boost::asio::awaitable<void> send(boost::json::value partial) override;
  bool cancelled() const override { return cancelled_; }

  // A path takes the stream over from frame `after` + 1: the writer of any earlier attachment
  // stops. False when those frames are no longer kept (nothing changes then).
  bool attach(std::uint64_t after, std::uint64_t& attachment);
  // The path of `attachment` broke (if it is still the current one): the stream waits for a resume.
  void detach(std::uint64_t attachment, std::chrono::steady_clock::time_point now);
  bool current(std::uint64_t attachment) const { return attached_ && attachment == attachment_; }
  void acknowledge(std::uint64_t seq);
  // The caller cancelled, its deadline passed, or it never came back: the handler is cancelled.
  void cancel(std::string why);
  const std::optional<std::string>& cancel_reason() const { return cancel_reason_; }
  // Also told when the stream is cancelled (the dispatcher stops waiting for the handler then).
  void on_cancel(std::function<void()> hook) { on_cancel_ = std::move(hook); }
  // The handler's run ended with this response (serialized JSON-RPC): it becomes the final frame.
  void finish(std::string_view response);

  StreamOutbox& outbox() { return outbox_; }
  const StreamOutbox& outbox() const { return outbox_; }
  Signal& changed() { return changed_; }
  boost::asio::cancellation_signal& handler_cancel() { return handler_cancel_; }
  const std::string& caller() const { return caller_; }
  const std::string& call_id() const { return call_id_; }
  bool attached() const { return attached_; }
  std::chrono::steady_clock::time_point detached_since() const { return detached_since_; }

 private:
  std::string caller_;
  std::string call_id_;
  StreamOutbox outbox_;
  Signal changed_;  // frames queued, credit returned, a new attachment, cancellation
  boost::asio::cancellation_signal handler_cancel_;
  std::uint64_t attachment_ = 0;
  bool attached_ = false;
  std::chrono::steady_clock::time_point detached_since_{};
  bool cancelled_ = false;
  std::optional<std::string> cancel_reason_;
  std::function<void()> on_cancel_;
};

// The ResultStream of a unary call: partials go nowhere.
class DiscardedPartials final : public ResultStream {
 public:
  boost::asio::awaitable<void> send(boost::json::value) override { co_return; }
  bool cancelled() const override { return false; }
};

// A path's hold on a stream (attachment) or, instead, the one response to answer with.
struct StreamAttachment {
  std::shared_ptr<ServedStream> stream;
  std::uint64_t attachment = 0;
  std::shared_ptr<const std::string> refusal;
};

class ServedStreams {
 public:
  explicit ServedStreams(ServedStreamLimits limits = {}) : limits_(limits) {}

  static std::string key(std::string_view caller, std::string_view call_id);
  std::shared_ptr<ServedStream> find(const std::string& key) const;
  // Why a new stream for `caller` with `window` cannot be kept now (too many, too much memory
  // granted), or nothing.
  std::optional<std::string> full(const std::string& caller, std::uint64_t window) const;
  void add(const std::string& key, std::shared_ptr<ServedStream> stream);
  void remove(const std::string& key);
  // Cancels streams detached longer than the resume window and forgets those done with.
  void expire(std::chrono::steady_clock::time_point now);
  // Cancels every stream (the node stops).
  void cancel_all(const std::string& why);

  std::size_t size() const { return streams_.size(); }
  std::uint64_t buffered_bytes() const;
  std::uint64_t window_bytes() const { return window_bytes_; }
  const ServedStreamLimits& limits() const { return limits_; }

 private:
  ServedStreamLimits limits_;
  std::unordered_map<std::string, std::shared_ptr<ServedStream>> streams_;
  struct CallerShare {
    std::size_t streams = 0;
    std::uint64_t window_bytes = 0;
  };
  std::unordered_map<std::string, CallerShare> per_caller_;
  std::uint64_t window_bytes_ = 0;
};

}  // namespace stargate::agent
