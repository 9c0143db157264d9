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

void InboundDispatcher::handle(std::string method, Handler handler) { handlers_[std::move(method)] = std::move(handler); }
void InboundDispatcher::handle_any(Handler handler) { catch_all_ = std::move(handler); }

void InboundDispatcher::stop() {
  stopped_ = true;
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
  if (!request) {
    rejections_.count("invalid_request");
    response = share(make_error_response(request.error().id, request.error().error));
  } else if (!caller || caller->agent_id != request->from) {
    rejections_.count("forbidden");
    response = share(make_error_response(
        request->id, RpcError{ErrorCode::forbidden, "'from' does not match the authenticated caller"}));
  } else if (auto refusal = admit(*caller)) {
    // Answered before the at-most-once cache is consulted: a refusal is never stored as the
    // request's result, so a retry after the hint runs the handler.
    response = share(make_error_response(request->id, *refusal));
  } else {
    response = co_await run_once(*request, *caller);
  }
  if (response->size() > kMaxMessageBytes) {
    response = share(make_error_response(request ? std::optional<RequestId>(request->id) : std::nullopt,
                                         payload_too_large_error(response->size(), kMaxMessageBytes)));
  }
  co_return response;
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
awaitable<std::string> InboundDispatcher::run_handler(Request& request, const CallContext& context) {
  Handler handler;
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
  };
  auto run = std::make_shared<Run>(executor_);
  asio::co_spawn(executor_, [run, handler, params = std::move(request.params), context]() -> awaitable<void> {
    try {
      run->result = co_await handler(params, context);
    } catch (const CallError& e) {
      run->failure = RpcError{e.code(), e.what(), e.data()};
    } catch (const std::exception& e) {
      run->failure = RpcError{ErrorCode::internal_error, std::string("handler failed: ") + e.what()};
    }
    run->done = true;
    run->finished.notify_all();
  }, asio::bind_cancellation_slot(run->cancel.slot(), asio::detached));
  bool expired = false;
  std::optional<asio::steady_timer> limit;
  if (request.deadline_ms) {
    limit.emplace(executor_, std::chrono::milliseconds(*request.deadline_ms));
    limit->async_wait([run, &expired](boost::system::error_code ec) {
      if (ec || run->done) return;
      expired = true;
      run->cancel.emit(asio::cancellation_type::terminal);
      run->finished.notify_all();
    });
  }
  while (!run->done && !expired) co_await run->finished.wait();
  if (limit) limit->cancel();
  std::optional<RpcError> failure = run->failure;
  if (expired) {
    ++counters_.handlers_cancelled;
    failure = RpcError{ErrorCode::timeout, "the caller's deadline of " + std::to_string(*request.deadline_ms) +
                                               " ms passed: the handler was cancelled"};
  }
  ++counters_.requests_served;
  if (failure) co_return make_error_response(request.id, *failure);
  co_return make_response(request.id, run->result);  // the run is done: serialized in place
}

}  // namespace stargate::agent
