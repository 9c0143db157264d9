#pragma once
// The cascade (docs/protocol.md, "The cascade"): which transports a call tries, in which order,
// with which share of the time left, and the error when none of them got an answer. The clock and
// the transports are injected: tests/unit/agent/cascade_test.cpp runs it on a virtual clock with
// in-memory transports.
#include "agent/call_clock.hpp"
#include "agent/call_transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stargate::agent {

struct CascadeTier {
  std::string name;                          // "libp2p", "nats": the error's data.attempts[].tier
  std::vector<Via> forced_by;                // the `via` values that choose this tier alone
  std::shared_ptr<CallTransport> transport;  // null: this node lacks it, for the reason `missing`
  std::string missing;
};

struct Delivered {
  boost::json::value result;
  Tier tier;  // the tier that carried the answer
};

class Cascade {
 public:
  // `clock` must outlive the cascade's runs.
  Cascade(boost::asio::any_io_executor executor, CallClock& clock, std::vector<CascadeTier> order);

  // Tries the tiers `call.via` allows (all of them, in order, for Via::any; only those it forces
  // otherwise) that can reach `target`. Every tier but the last gets two thirds of the time left
  // when it starts, the last all of it; a tier that has not answered by then is given up (its
  // attempt may still finish on its own). An answer ends the walk, even an error one. Throws
  // CallError: the answer's error; "unreachable" naming why no tier could try; or, when every
  // tier failed, the last failure's code (timeout or unreachable) with every tier's reason in the
  // message and in data.attempts [{tier, error}].
  boost::asio::awaitable<Delivered> run(std::shared_ptr<const CallTarget> target, std::shared_ptr<const OutboundCall> call);

  // Called for each attempt that got no answer, as it fails (the node counts libp2p fallbacks).
  void on_failed_attempt(std::function<void(const CascadeTier&, const CallOutcome&)> hook) { on_failed_ = std::move(hook); }

  const std::vector<CascadeTier>& order() const { return order_; }

 private:
  boost::asio::awaitable<CallOutcome> attempt(const CascadeTier& tier, std::shared_ptr<const CallTarget> target,
                                              std::shared_ptr<const OutboundCall> call, CallClock::time_point give_up_at);

  boost::asio::any_io_executor executor_;
  CallClock& clock_;
  std::vector<CascadeTier> order_;
  std::function<void(const CascadeTier&, const CallOutcome&)> on_failed_;
};

}  // namespace stargate::agent
