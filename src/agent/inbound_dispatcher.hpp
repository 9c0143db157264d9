#pragma once
// Every call this node serves goes through here, whatever carried it (a libp2p a2a stream, a
// sealed NATS request; later the local API and the gateways): the caller the transport
// authenticated must be the request's `from`; the caller's (and its IP's) rate; the at-most-once
// result cache (a retry over another tier joins the first run); the handler by method (else the
// catch-all, else "method not found"); the caller's deadline, which cancels the handler. A new way
// in calls respond() and sends back what it returns.
#include "agent/a2a_io.hpp"
#include "agent/call_limiter.hpp"
#include "agent/jsonrpc.hpp"
#include "agent/rejections.hpp"
#include "agent/result_cache.hpp"
#include "agent/served_stream.hpp"
#include "agent/stream_frames.hpp"
#include "stargate/node.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate {
class Signal;
}

namespace stargate::agent {

// Who sent a request, as its transport authenticated it, and from which IP when the transport
// knows (a direct libp2p connection; not a relayed one, not NATS).
struct Caller {
  std::string agent_id;
  std::string peer_id;
  std::optional<std::string> ip;
};

struct InboundCounters {
  std::uint64_t requests_served = 0, requests_deduplicated = 0, handlers_cancelled = 0;
  std::uint64_t requests_rate_limited = 0;
  std::map<std::string, std::uint64_t> requests_rate_limited_by;  // peer, ip, backoff, node_busy, …
  std::uint64_t peers_backed_off = 0;
  std::uint64_t streams_resumed = 0;  // streamed calls re-attached after `after` > 0
};

class InboundDispatcher : public std::enable_shared_from_this<InboundDispatcher> {
 public:
  using ParsedRequest = boost::system::result<Request, RequestFailure>;
  using Response = ResultCache::Response;  // shared with the cache: a large response is not copied

  // `limits` must have been checked (check_rate_limits); refusals are counted in `rejections`.
  InboundDispatcher(boost::asio::any_io_executor executor, const NodeOptions::RateLimits& limits, Rejections& rejections);
  ~InboundDispatcher();

  void handle(std::string method, Handler handler);
  void handle_any(Handler handler);
  void handle_stream(std::string method, StreamHandler handler);

  // Streamed calls (docs/protocol.md, "Streamed results"): a stream attached to the path that
  // asked (its writer stops once `attachment` is no longer current), or the one response to answer
  // with instead (a refusal, or the final result of a call that is not streamed).
  using StreamOpened = StreamAttachment;
  // A request with a stream window: runs its handler with a stream (the same checks as respond()),
  // or re-attaches from the start when this caller's call with this ID is streaming already.
  boost::asio::awaitable<StreamOpened> open_stream(ParsedRequest request, std::optional<Caller> caller);
  // Re-attaches after `resume.after`: only the caller that opened the stream may.
  StreamOpened resume_stream(const StreamResume& resume, std::optional<Caller> caller);
  // An acknowledgement or cancellation that came apart from the stream's path (over NATS): applied
  // to `caller`'s stream with that call ID, if there is one.
  void stream_control(const std::string& caller, const CallerFrame& frame);
  // A stream whose final frame was acknowledged, or whose path gave up: forgotten when done with.
  void stream_ended(const ServedStream& stream);
  const ServedStreams& streams() const { return streams_; }

  // The response to one request. `caller` is who the transport authenticated (none: it could not
  // tell, which is refused "forbidden"). Never more than kMaxMessageBytes.
  boost::asio::awaitable<Response> respond(ParsedRequest request, std::optional<Caller> caller);

  // A libp2p caller turned away before its request was read (over its share of the calls in
  // flight) or cut off (too slow to send it): counted, and a strike, like a call over its rate.
  void refused(const crypto::PeerId& caller, A2aRefusal why);
  // Whether `peer` (a PeerId's text) is in back-off for repeated refusals.
  bool backed_off(const std::string& peer, std::chrono::steady_clock::time_point now) const;
  // Called when a caller is put in back-off: the node closes its connections.
  void on_backoff(std::function<void(const crypto::PeerId&)> hook) { on_backoff_ = std::move(hook); }

  // Wakes retries waiting for a run; no new run starts after this.
  void stop();
  const InboundCounters& counters() const { return counters_; }

 private:
  boost::asio::awaitable<Response> run_once(Request& request, const Caller& caller);
  boost::asio::awaitable<std::string> run_handler(Request& request, const CallContext& context,
                                                  std::shared_ptr<ServedStream> stream = nullptr);
  boost::asio::awaitable<void> run_stream(std::string key, Request request, CallContext context,
                                          std::shared_ptr<ServedStream> stream);
  std::optional<RpcError> check(const ParsedRequest& request, const std::optional<Caller>& caller);
  std::optional<RpcError> admit(const Caller& caller);
  void back_off(const std::string& peer);

  boost::asio::any_io_executor executor_;
  NodeOptions::RateLimits limits_;
  Rejections& rejections_;
  std::map<std::string, StreamHandler, std::less<>> handlers_;
  StreamHandler catch_all_;
  ServedStreams streams_;
  CallLimiter call_limiter_;
  // At most once per request, across transports: results by (caller, request ID), and a signal per
  // run in progress for the retries that join it.
  ResultCache results_;
  std::unordered_map<std::string, std::shared_ptr<Signal>> runs_;
  std::function<void(const crypto::PeerId&)> on_backoff_;
  InboundCounters counters_;
  bool stopped_ = false;
};

// The checks the node makes on NodeOptions::rate_limits (throws std::invalid_argument), and the
// settings of the parts that use them.
void check_rate_limits(const NodeOptions::RateLimits& limits);
OffenderTracker::Config offender_config(const NodeOptions::RateLimits& limits);

}  // namespace stargate::agent
