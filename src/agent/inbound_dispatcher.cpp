#include "agent/inbound_dispatcher.hpp"

#include "agent/agent_log.hpp"
#include "base/signal_io.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

namespace stargate::agent {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

// A caller cut off for holding a call slot without sending its request weighs this many refusals:
// a few stalls within the strike window put it in back-off, not a hundred.
constexpr std::size_t kStrikesPerStall = 10;

CallLimits call_limits(const NodeOptions::RateLimits& r) {
  CallLimits limits;
  limits.per_peer = RateLimit{r.calls_per_second, r.calls_burst};
  limits.per_ip = RateLimit{r.calls_per_ip_per_second, r.calls_per_ip_burst};
  limits.offenders = offender_config(r);
  return limits;
}

InboundDispatcher::Response share(std::string response) {
  return std::make_shared<const std::string>(std::move(response));
}

}  // namespace

void check_rate_limits(const NodeOptions::RateLimits& r) {
  auto check = [](double rate, double burst, const char* what) {
    if (!(rate > 0) || !(burst >= 1))
      throw std::invalid_argument(std::string("NodeOptions::rate_limits: ") + what +
                                  " needs a rate above 0 per second and a burst of at least 1");
  };
  check(r.calls_per_second, r.calls_burst, "calls");
  check(r.calls_per_ip_per_second, r.calls_per_ip_burst, "calls per IP");
  check(r.announcements_per_second, r.announcements_burst, "announcements");
  if (r.strikes_before_backoff == 0) throw std::invalid_argument("NodeOptions::rate_limits.strikes_before_backoff must be at least 1");
  if (r.calls_in_flight == 0 || r.calls_in_flight_per_peer == 0 || r.calls_in_flight_per_ip == 0)
    throw std::invalid_argument("NodeOptions::rate_limits: calls in flight (in all, per peer, per IP) must be at least 1");
  if (r.request_header_timeout <= std::chrono::milliseconds::zero() || r.request_timeout <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("NodeOptions::rate_limits: request timeouts must be above 0");
}

OffenderTracker::Config offender_config(const NodeOptions::RateLimits& r) {
  OffenderTracker::Config config;
  config.strikes = r.strikes_before_backoff;
  config.window = r.strike_window;
  config.backoff = r.backoff;
  return config;
}

InboundDispatcher::InboundDispatcher(asio::any_io_executor executor, const NodeOptions::RateLimits& limits,
                                     Rejections& rejections)
    : executor_(std::move(executor)), limits_(limits), rejections_(rejections), call_limiter_(call_limits(limits)) {}

InboundDispatcher::~InboundDispatcher() = default;

namespace {

StreamHandler unary(Handler handler) {
  return [handler = std::move(handler)](const json::value& params, const CallContext& context,
                                        ResultStream&) -> awaitable<json::value> { return handler(params, context); };
}

}  // namespace

void InboundDispatcher::handle(std::string method, Handler handler) { handlers_[std::move(method)] = unary(std::move(handler)); }
void InboundDispatcher::handle_any(Handler handler) { catch_all_ = unary(std::move(handler)); }
void InboundDispatcher::handle_stream(std::string method, StreamHandler handler) {
  handlers_[std::move(method)] = std::move(handler);
}

void InboundDispatcher::stop() {
  stopped_ = true;
  streams_.cancel_all("the node is stopping");
  for (auto& [key, run] : runs_) run->notify_all();
}

bool InboundDispatcher::backed_off(const std::string& peer, std::chrono::steady_clock::time_point now) const {
  return call_limiter_.offenders().backed_off(peer, now);
}

void InboundDispatcher::back_off(const std::string& peer) {
  ++counters_.peers_backed_off;
  if (!on_backoff_) return;
  if (auto id = crypto::PeerId::parse(peer)) on_backoff_(*id);
}

awaitable<InboundDispatcher::Response> InboundDispatcher::respond(ParsedRequest request, std::optional<Caller> caller) {
  auto self = shared_from_this();
  Response response;
  if (auto refusal = check(request, caller)) {
    response = share(make_error_response(request ? std::optional<RequestId>(request->id) : request.error().id, *refusal));
  } else {
    response = co_await run_once(*request, *caller);
  }
  if (response->size() > kMaxMessageBytes) {
    response = share(make_error_response(request ? std::optional<RequestId>(request->id) : std::nullopt,
                                         payload_too_large_error(response->size(), kMaxMessageBytes)));
  }
  co_return response;
}

// Why a request is refused before anything runs (counted), or nothing. A rate refusal is answered
// before the at-most-once cache is consulted: it is never stored as the request's result, so a
// retry after the hint runs the handler.
std::optional<RpcError> InboundDispatcher::check(const ParsedRequest& request, const std::optional<Caller>& caller) {
  if (!request) {
    rejections_.count("invalid_request");
    return request.error().error;
  }
  if (!caller || caller->agent_id != request->from) {
    rejections_.count("forbidden");
    return RpcError{ErrorCode::forbidden, "'from' does not match the authenticated caller"};
  }
  return admit(*caller);
}

awaitable<InboundDispatcher::StreamOpened> InboundDispatcher::open_stream(ParsedRequest request, std::optional<Caller> caller) {
  auto self = shared_from_this();
  StreamOpened opened;
  auto refuse = [&](const RpcError& error) {
    opened.refusal = share(make_error_response(request ? std::optional<RequestId>(request->id) : request.error().id, error));
    return opened;
  };
  if (auto refusal = check(request, caller)) co_return refuse(*refusal);
  if (!request->stream_window) {
    opened.refusal = co_await respond(std::move(request), std::move(caller));
    co_return opened;
  }
  const auto now = std::chrono::steady_clock::now();
  streams_.expire(now);
  // The call ID as the caller's later frames name it (a resume, an acknowledgement): the ID's text.
  const auto* text_id = std::get_if<std::string>(&request->id);
  const auto call_id = text_id ? *text_id : to_string(request->id);
  const auto key = ServedStreams::key(caller->agent_id, call_id);
  const auto window = clamp_stream_window(*request->stream_window);
  if (auto running = streams_.find(key)) {
    // The same request again (a retry over another tier before any frame arrived): join the run.
    ++counters_.requests_deduplicated;
    if (!running->attach(0, opened.attachment))
      co_return refuse(RpcError{ErrorCode::stream_lost, "this call's first frames are no longer kept"});
    opened.stream = std::move(running);
    co_return opened;
  }
  const auto cache_key = ResultCache::key(caller->agent_id, to_string(request->id));
  if (results_.state(cache_key) != ResultCache::State::fresh) {
    ++counters_.requests_deduplicated;
    co_return refuse(RpcError{ErrorCode::stream_lost, "this call ran already; its stream is no longer kept"});
  }
  if (auto why = streams_.full(caller->agent_id, window)) {
    rejections_.count("streams_full");
    co_return refuse(RpcError{ErrorCode::rate_limited, *why, json::object{{"retry_after_ms", 1000}}});
  }
  results_.begin(cache_key, now);
  auto stream = std::make_shared<ServedStream>(executor_, caller->agent_id, call_id, window);
  streams_.add(key, stream);
  stream->attach(0, opened.attachment);
  opened.stream = stream;
  CallContext context{request->method, caller->agent_id, caller->peer_id};
  asio::co_spawn(executor_, run_stream(cache_key, std::move(*request), std::move(context), std::move(stream)),
                 asio::detached);
  co_return opened;
}

InboundDispatcher::StreamOpened InboundDispatcher::resume_stream(const StreamResume& resume, std::optional<Caller> caller) {
  StreamOpened opened;
  // A resume costs the callee what a call does (a path, a replay of kept frames): it counts
  // against the caller's rate like one.
  if (caller) {
    if (auto refusal = admit(*caller)) {
      opened.refusal = share(make_error_response(RequestId(resume.call_id), *refusal));
      return opened;
    }
  }
  streams_.expire(std::chrono::steady_clock::now());
  // Another caller's call ID finds nothing: call IDs are bound to the identity that opened them.
  auto stream = caller && caller->agent_id == resume.from ? streams_.find(ServedStreams::key(caller->agent_id, resume.call_id))
                                                          : nullptr;
  if (!stream || !stream->attach(resume.after, opened.attachment)) {
    rejections_.count("resume_refused");
    opened.refusal = share(make_error_response(
        RequestId(resume.call_id),
        RpcError{ErrorCode::stream_lost, stream ? "the frames after " + std::to_string(resume.after) + " are no longer kept"
                                                : "no stream of this caller with this call ID"}));
    return opened;
  }
  ++counters_.streams_resumed;
  opened.stream = std::move(stream);
  return opened;
}

void InboundDispatcher::stream_control(const std::string& caller, const CallerFrame& frame) {
  if (const auto* ack = std::get_if<StreamAck>(&frame)) {
    if (auto stream = streams_.find(ServedStreams::key(caller, ack->call_id))) stream->acknowledge(ack->consumed);
  } else if (const auto* cancel = std::get_if<StreamCancel>(&frame)) {
    if (auto stream = streams_.find(ServedStreams::key(caller, cancel->call_id))) stream->cancel("the caller cancelled");
  }
}

void InboundDispatcher::stream_ended(const ServedStream& stream) {
  if (stream.outbox().drained()) streams_.remove(ServedStreams::key(stream.caller(), stream.call_id()));
  streams_.expire(std::chrono::steady_clock::now());
  if (stream.attached() || stream.outbox().drained()) return;
  // Its path broke: if no resume comes within the window, the handler is cancelled then, even when
  // no other stream opens or ends meanwhile.
  auto timer = std::make_shared<asio::steady_timer>(executor_, streams_.limits().resume_window + std::chrono::milliseconds(50));
  std::weak_ptr<InboundDispatcher> weak = shared_from_this();
  timer->async_wait([timer, weak](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->streams_.expire(std::chrono::steady_clock::now());
  });
}

// The handler's run for a streamed call: its response becomes the final frame, and is kept by the
// result cache so that the same request again is not run twice.
awaitable<void> InboundDispatcher::run_stream(std::string key, Request request, CallContext context,
                                              std::shared_ptr<ServedStream> stream) {
  auto self = shared_from_this();
  std::string response;
  try {
    response = co_await run_handler(request, context, stream);
  } catch (const std::exception& e) {
    response = make_error_response(request.id, RpcError{ErrorCode::internal_error, std::string("handler failed: ") + e.what()});
  }
  stream->finish(response);
  results_.finish(key, share(std::move(response)));
}

// A call over the caller's (or its IP's) rate: the error to answer with, counted; nothing when it
// may run. A caller that keeps being refused is disconnected and put in back-off.
std::optional<RpcError> InboundDispatcher::admit(const Caller& caller) {
  auto admission = call_limiter_.admit(caller.peer_id, caller.ip, std::chrono::steady_clock::now());
  if (admission.allowed()) return std::nullopt;
  ++counters_.requests_rate_limited;
  ++counters_.requests_rate_limited_by[std::string(to_string(admission.verdict))];
  if (admission.disconnect) {
    logger()->info("caller {} keeps exceeding its rate: disconnected for {} ms", caller.peer_id, limits_.backoff.count());
    back_off(caller.peer_id);
  }
  return rate_limited_error(admission.retry_after);
}

void InboundDispatcher::refused(const crypto::PeerId& caller, A2aRefusal why) {
  ++counters_.requests_rate_limited;
  ++counters_.requests_rate_limited_by[std::string(to_string(why))];
  const auto key = caller.to_string();
  const auto now = std::chrono::steady_clock::now();
  bool backed_off = false;
  const std::size_t strikes = why == A2aRefusal::too_slow ? kStrikesPerStall : 1;
  for (std::size_t i = 0; i < strikes && !backed_off; ++i) backed_off = call_limiter_.offenders().strike(key, now);
  if (backed_off) {
    logger()->info("caller {} keeps holding call slots ({}): disconnected for {} ms", key, to_string(why),
                   limits_.backoff.count());
    back_off(key);
  }
}

// Runs the handler unless this caller's request ran before (its response is sent again) or is
// running now (this one waits for that run). Moves the request's params into the handler's run.
awaitable<InboundDispatcher::Response> InboundDispatcher::run_once(Request& request, const Caller& caller) {
  auto self = shared_from_this();
  const auto key = ResultCache::key(caller.agent_id, to_string(request.id));
  switch (results_.begin(key, std::chrono::steady_clock::now())) {
    case ResultCache::State::done:
      ++counters_.requests_deduplicated;
      co_return results_.shared_response(key);
    case ResultCache::State::running: {
      ++counters_.requests_deduplicated;
      auto found = runs_.find(key);
      if (found == runs_.end())  // only if a flood evicted the first run's entry while it ran
        co_return share(make_error_response(request.id, RpcError{ErrorCode::rate_limited, "too many requests in flight; retry later"}));
      auto run = found->second;
      while (results_.state(key) == ResultCache::State::running && !stopped_) co_await run->wait();
      if (auto response = results_.shared_response(key)) co_return response;
      co_return share(make_error_response(request.id, RpcError{ErrorCode::internal_error,
                                                               "the first run of this request ended without a response"}));
    }
    case ResultCache::State::fresh:
      break;
  }
  auto run = std::make_shared<Signal>(executor_);
  runs_[key] = run;
  CallContext context{request.method, caller.agent_id, caller.peer_id};
  Response response;
  try {
    response = share(co_await run_handler(request, context));
  } catch (...) {
  }
  if (auto it = runs_.find(key); it != runs_.end() && it->second == run) runs_.erase(it);
  if (response) {
    results_.finish(key, response);
  } else {
    results_.abandon(key);
  }
  run->notify_all();
  if (!response) throw std::runtime_error("handler run failed");
  co_return response;
}

// Moves request.params into the handler's run.
awaitable<std::string> InboundDispatcher::run_handler(Request& request, const CallContext& context,
                                                     std::shared_ptr<ServedStream> stream) {
  StreamHandler handler;
  if (auto it = handlers_.find(request.method); it != handlers_.end())
    handler = it->second;
  else
    handler = catch_all_;
  if (!handler)
    co_return make_error_response(request.id, RpcError{ErrorCode::method_not_found, "method not found: " + request.method});
  // The handler runs on a coroutine of its own; when the caller said how long it waits, that
  // coroutine is cancelled (terminal) once the time is up: the caller has given up, so the work
  // stops at its next asynchronous step.
  struct Run {
    explicit Run(asio::any_io_executor ex) : finished(ex) {}
    bool done = false;
    json::value result;
    std::optional<RpcError> failure;
    Signal finished;
    asio::cancellation_signal cancel;
    DiscardedPartials discarded;
  };
  auto run = std::make_shared<Run>(executor_);
  // A streamed call is also cancelled by its caller (a cancel frame, or never coming back).
  if (stream) stream->on_cancel([run] { run->finished.notify_all(); });
  auto& cancel = stream ? stream->handler_cancel() : run->cancel;
  asio::co_spawn(executor_, [run, stream, handler, params = std::move(request.params), context]() -> awaitable<void> {
    ResultStream& partials = stream ? static_cast<ResultStream&>(*stream) : run->discarded;
    try {
      run->result = co_await handler(params, context, partials);
    } catch (const CallError& e) {
      run->failure = RpcError{e.code(), e.what(), e.data()};
    } catch (const std::exception& e) {
      run->failure = RpcError{ErrorCode::internal_error, std::string("handler failed: ") + e.what()};
    }
    run->done = true;
    run->finished.notify_all();
  }, asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  bool expired = false;
  std::optional<asio::steady_timer> limit;
  if (request.deadline_ms) {
    limit.emplace(executor_, std::chrono::milliseconds(*request.deadline_ms));
    limit->async_wait([run, stream, &expired](boost::system::error_code ec) {
      if (ec || run->done) return;
      expired = true;
      if (stream)
        stream->cancel("the caller's deadline passed");
      else
        run->cancel.emit(asio::cancellation_type::terminal);
      run->finished.notify_all();
    });
  }
  const auto cancelled_by_caller = [&stream] { return stream && stream->cancelled(); };
  while (!run->done && !expired && !cancelled_by_caller()) co_await run->finished.wait();
  if (limit) limit->cancel();
  if (stream) stream->on_cancel(nullptr);
  std::optional<RpcError> failure = run->failure;
  if (!expired && cancelled_by_caller()) {
    ++counters_.handlers_cancelled;
    failure = RpcError{ErrorCode::timeout, "cancelled: " + stream->cancel_reason().value_or("")};
  } else if (expired) {
    ++counters_.handlers_cancelled;
    failure = RpcError{ErrorCode::timeout, "the caller's deadline of " + std::to_string(*request.deadline_ms) +
                                               " ms passed: the handler was cancelled"};
  }
  ++counters_.requests_served;
  if (failure) co_return make_error_response(request.id, *failure);
  co_return make_response(request.id, run->result);  // the run is done: serialized in place
}

}  // namespace stargate::agent
