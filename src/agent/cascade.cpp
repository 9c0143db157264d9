#include "agent/cascade.hpp"

#include "agent/jsonrpc.hpp"
#include "agent/streaming_call.hpp"
#include "base/signal_io.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace stargate::agent {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

std::string_view to_string(Tier tier) {
  switch (tier) {
    case Tier::direct: return "direct";
    case Tier::relay: return "relay";
    case Tier::nats: return "nats";
  }
  return "direct";
}

CallOutcome CallOutcome::answered(Tier tier, json::value result) {
  CallOutcome o;
  o.tier = tier;
  o.result = std::move(result);
  return o;
}

CallOutcome CallOutcome::refused(Tier tier, CallError error) {
  CallOutcome o;
  o.tier = tier;
  o.error = std::move(error);
  return o;
}

CallOutcome CallOutcome::failed(Tier tier, std::string why, bool timed_out) {
  CallOutcome o;
  o.tier = tier;
  o.failure = std::move(why);
  o.timed_out = timed_out;
  return o;
}

namespace {

CallError unreachable(std::string message, json::value data = nullptr) {
  return CallError(static_cast<int>(ErrorCode::unreachable), std::move(message), std::move(data));
}

// The error of a call whose every tier failed: the last failure's code, every tier's reason.
CallError all_failed(const std::string& callee, const json::array& attempts, const CallOutcome& last) {
  const int code = static_cast<int>(last.timed_out ? ErrorCode::timeout : ErrorCode::unreachable);
  if (attempts.size() < 2) return CallError(code, *last.failure, json::object{{"attempts", attempts}});
  std::string message = "cannot reach " + callee + ":";
  for (const auto& a : attempts)
    message += std::string(" ") + a.at("tier").as_string().c_str() + ": " + a.at("error").as_string().c_str() + ";";
  message.pop_back();
  return CallError(code, std::move(message), json::object{{"attempts", attempts}});
}

}  // namespace

Cascade::Cascade(asio::any_io_executor executor, CallClock& clock, std::vector<CascadeTier> order)
    : executor_(std::move(executor)), clock_(clock), order_(std::move(order)) {}

awaitable<Delivered> Cascade::run(std::shared_ptr<const CallTarget> target, std::shared_ptr<const OutboundCall> call) {
  std::vector<const CascadeTier*> tiers;
  std::string unavailable;
  for (const auto& tier : order_) {
    if (call->via != Via::any && std::find(tier.forced_by.begin(), tier.forced_by.end(), call->via) == tier.forced_by.end())
      continue;
    std::optional<std::string> why;
    if (!tier.transport)
      why = tier.missing;
    else
      why = tier.transport->cannot_reach(*target);
    if (why) {
      unavailable += (unavailable.empty() ? "" : " and ") + *why;
      continue;
    }
    tiers.push_back(&tier);
  }
  if (tiers.empty())
    throw unreachable("cannot reach " + target->label + ": " + (unavailable.empty() ? "no transport for this path" : unavailable));

  json::array attempts;
  const auto received = [&call] { return call->stream ? call->stream->inbox().received() : 0; };
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const bool last = i + 1 == tiers.size();
    const auto now = clock_.now();
    const auto left = call->deadline - now;
    const auto give_up_at = last || left <= CallClock::time_point::duration::zero() ? call->deadline : now + left * 2 / 3;
    const auto received_before = received();
    auto outcome = co_await attempt(*tiers[i], target, call, give_up_at);
    if (outcome.result) co_return Delivered{std::move(*outcome.result), outcome.tier};
    if (outcome.error) throw *outcome.error;
    if (!outcome.failure) outcome.failure = "no answer";
    attempts.push_back(json::object{{"tier", tiers[i]->name}, {"error", *outcome.failure}});
    if (on_failed_) on_failed_(*tiers[i], outcome);
    // A streamed call whose path broke after frames came: the walk starts over, resuming (another
    // connection or relay first, then the next tier), as long as each path brings something.
    if (received() > received_before && clock_.now() < call->deadline) {
      attempts.clear();
      i = static_cast<std::size_t>(-1);
      continue;
    }
    if (last) throw all_failed(target->label, attempts, outcome);
  }
  throw unreachable("cannot reach " + target->label);  // not reached: the last tier returns or throws
}

awaitable<CallOutcome> Cascade::attempt(const CascadeTier& tier, std::shared_ptr<const CallTarget> target,
                                        std::shared_ptr<const OutboundCall> call, CallClock::time_point give_up_at) {
  // The attempt runs on its own coroutine, owning what it uses, and this one waits for it or for
  // the alarm, whichever comes first: a transport that hangs costs its share of the time, no more.
  struct Race {
    explicit Race(asio::any_io_executor executor) : wake(std::move(executor)) {}
    std::optional<CallOutcome> outcome;
    bool expired = false;
    Signal wake;
  };
  const auto started = clock_.now();
  auto race = std::make_shared<Race>(executor_);
  asio::co_spawn(
      executor_,
      [race, transport = tier.transport, target, call, give_up_at]() -> awaitable<void> {
        CallOutcome outcome;
        try {
          outcome = co_await transport->call(*target, *call, give_up_at);
        } catch (const CallError& e) {
          outcome = CallOutcome::refused(Tier::direct, e);
        } catch (const std::exception& e) {
          outcome = CallOutcome::failed(Tier::direct, e.what());
        }
        race->outcome = std::move(outcome);
        race->wake.notify_all();
      },
      asio::detached);
  // A streamed call's attempt that is delivering frames is not given up at its share of the time:
  // it runs on until the call's deadline.
  const auto received_at_start = call->stream ? call->stream->inbox().received() : 0;
  bool extended = false;
  auto alarm = clock_.alarm(give_up_at, [race] {
    race->expired = true;
    race->wake.notify_all();
  });
  for (;;) {
    while (!race->outcome && !race->expired) co_await race->wake.wait();
    if (race->outcome || extended || !call->stream || call->stream->inbox().received() == received_at_start ||
        give_up_at >= call->deadline)
      break;
    extended = true;
    race->expired = false;
    alarm = clock_.alarm(call->deadline, [race] {
      race->expired = true;
      race->wake.notify_all();
    });
  }
  if (race->outcome) co_return std::move(*race->outcome);
  const auto given = std::chrono::duration_cast<std::chrono::milliseconds>(give_up_at - started).count();
  co_return CallOutcome::failed(Tier::direct, "no " + tier.name + " response within " + std::to_string(std::max<long long>(given, 0)) + " ms",
                                true);
}

}  // namespace stargate::agent
