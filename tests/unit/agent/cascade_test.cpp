// The cascade (agent/cascade.hpp) on a virtual clock with scripted in-memory transports: the
// deadline split, a tier that hangs, a tier that fails fast, `via` forcing one tier, the error
// when every tier fails. No sockets, no sleeps, no real time: the clock moves only when the test
// advances it, so every time asserted below is exact.
#include "agent/cascade.hpp"
#include "agent/jsonrpc.hpp"
#include "base/signal_io.hpp"
#include "unit/agent/virtual_clock.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stargate::agent {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::VirtualClock;
using TimePoint = CallClock::time_point;
using Duration = VirtualClock::duration;

// What a scripted transport does with every call it is given.
struct Script {
  enum class Kind { answer, refuse, fail, time_out, hang, throw_runtime, throw_call_error };
  Kind kind = Kind::answer;
  Duration after{0};  // virtual time before it answers or fails
  json::value result;
  std::optional<CallError> error;
  std::string why;
};

Script answers(json::value result, Duration after = 0ms) {
  Script s;
  s.kind = Script::Kind::answer;
  s.after = after;
  s.result = std::move(result);
  return s;
}
Script refuses(CallError error, Duration after = 0ms) {
  Script s;
  s.kind = Script::Kind::refuse;
  s.after = after;
  s.error = std::move(error);
  return s;
}
Script fails(std::string why, Duration after = 0ms) {
  Script s;
  s.kind = Script::Kind::fail;
  s.after = after;
  s.why = std::move(why);
  return s;
}
Script times_out(std::string why, Duration after) {
  Script s = fails(std::move(why), after);
  s.kind = Script::Kind::time_out;
  return s;
}
Script hangs() {
  Script s;
  s.kind = Script::Kind::hang;
  return s;
}
Script throws_runtime(std::string why) {
  Script s;
  s.kind = Script::Kind::throw_runtime;
  s.why = std::move(why);
  return s;
}
Script throws_call_error(CallError error) {
  Script s;
  s.kind = Script::Kind::throw_call_error;
  s.error = std::move(error);
  return s;
}

struct RecordedCall {
  std::string id;
  std::string method;
  TimePoint give_up_at;
  TimePoint called_at;  // virtual time
};

// Waits `d` of virtual time.
asio::awaitable<void> sleep_for(VirtualClock& clock, Duration d) {
  if (d <= Duration::zero()) co_return;
  auto executor = co_await asio::this_coro::executor;
  Signal wake(executor);
  bool due = false;
  auto alarm = clock.alarm(clock.now() + d, [&] {
    due = true;
    wake.notify_all();
  });
  while (!due) co_await wake.wait();
}

// A CallTransport that follows its script and records every call. A hung call waits on a Signal
// of its own frame until release(): when the io_context is destroyed first, the frame (and what
// the cascade gave it) goes with it. The transport itself holds no Asio object, so it may
// outlive the io_context.
class ScriptedTransport final : public CallTransport {
 public:
  ScriptedTransport(VirtualClock& clock, Tier tier, Script script, std::optional<std::string> unreachable)
      : clock_(clock), tier_(tier), script_(std::move(script)), unreachable_(std::move(unreachable)) {}

  std::optional<std::string> cannot_reach(const CallTarget&) const override { return unreachable_; }

  asio::awaitable<CallOutcome> call(const CallTarget&, const OutboundCall& call, TimePoint give_up_at) override {
    calls_.push_back(RecordedCall{call.id, call.method, give_up_at, clock_.now()});
    if (script_.kind == Script::Kind::hang) {
      auto outcome = co_await hang();
      co_return outcome;
    }
    co_await sleep_for(clock_, script_.after);
    switch (script_.kind) {
      case Script::Kind::answer: co_return CallOutcome::answered(tier_, script_.result);
      case Script::Kind::refuse: co_return CallOutcome::refused(tier_, *script_.error);
      case Script::Kind::fail: co_return CallOutcome::failed(tier_, script_.why);
      case Script::Kind::time_out: co_return CallOutcome::failed(tier_, script_.why, true);
      case Script::Kind::throw_runtime: throw std::runtime_error(script_.why);
      case Script::Kind::throw_call_error: throw *script_.error;
      case Script::Kind::hang: break;
    }
    co_return CallOutcome::failed(tier_, "not reached");
  }

  const std::vector<RecordedCall>& calls() const { return calls_; }
  std::size_t hanging() const { return hung_->waiting.size(); }
  // Ends every hung call (with a failure nobody waits for any more).
  void release() {
    hung_->released = true;
    for (auto* signal : hung_->waiting) signal->notify_all();
  }

 private:
  struct Hung {
    std::vector<Signal*> waiting;
    bool released = false;
  };

  asio::awaitable<CallOutcome> hang() {
    auto hung = hung_;  // the frame's own reference: the list outlives its entry
    auto executor = co_await asio::this_coro::executor;
    Signal release(executor);
    hung->waiting.push_back(&release);
    struct Unlist {
      std::shared_ptr<Hung> hung;
      Signal* signal;
      ~Unlist() { std::erase(hung->waiting, signal); }
    } unlist{hung, &release};
    while (!hung->released) co_await release.wait();
    co_return CallOutcome::failed(tier_, "released after hanging");
  }

  VirtualClock& clock_;
  Tier tier_;
  Script script_;
  std::optional<std::string> unreachable_;
  std::vector<RecordedCall> calls_;
  std::shared_ptr<Hung> hung_ = std::make_shared<Hung>();
};

// What a cascade run came to.
struct CascadeRun {
  bool done = false;
  std::optional<Delivered> delivered;
  std::optional<CallError> error;
  std::string unexpected;  // an exception other than CallError
  TimePoint finished_at;
};

struct FailedAttempt {
  std::string tier;
  CallOutcome outcome;
};

class CascadeTest : public ::testing::Test {
 protected:
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>();
  VirtualClock clock{*io};
  const TimePoint t0 = clock.now();

  std::shared_ptr<ScriptedTransport> transport(Tier tier, Script script, std::optional<std::string> unreachable = std::nullopt) {
    return std::make_shared<ScriptedTransport>(clock, tier, std::move(script), std::move(unreachable));
  }

  static CascadeTier tier(std::string name, std::vector<Via> forced_by, std::shared_ptr<CallTransport> transport,
                          std::string missing = "") {
    CascadeTier t;
    t.name = std::move(name);
    t.forced_by = std::move(forced_by);
    t.transport = std::move(transport);
    t.missing = std::move(missing);
    return t;
  }
  // The node's order: libp2p (which `via` direct or relay force), then NATS.
  static std::vector<CascadeTier> order(std::shared_ptr<CallTransport> libp2p, std::shared_ptr<CallTransport> nats,
                                        std::string nats_missing = "") {
    std::vector<CascadeTier> tiers;
    tiers.push_back(tier("libp2p", {Via::direct, Via::relay}, std::move(libp2p)));
    tiers.push_back(tier("nats", {Via::nats}, std::move(nats), std::move(nats_missing)));
    return tiers;
  }

  std::unique_ptr<Cascade> cascade(std::vector<CascadeTier> tiers) {
    auto made = std::make_unique<Cascade>(io->get_executor(), clock, std::move(tiers));
    made->on_failed_attempt([this](const CascadeTier& t, const CallOutcome& o) { failed.push_back({t.name, o}); });
    return made;
  }

  static std::shared_ptr<const CallTarget> target() {
    auto t = std::make_shared<CallTarget>();
    t->label = "agent-b";
    t->agent_id = "agent-b";
    return t;
  }
  std::shared_ptr<const OutboundCall> outbound(Duration timeout, Via via = Via::any) {
    auto call = std::make_shared<OutboundCall>();
    call->id = "req-7";
    call->method = "echo";
    call->params = json::object{{"text", "hi"}};
    call->deadline = clock.now() + timeout;
    call->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    call->via = via;
    return call;
  }

  // Runs the cascade, polling and advancing the virtual clock by `step` until it ends; a run that
  // has not ended after `max_steps` steps is returned unfinished (the test fails, it does not hang).
  std::shared_ptr<CascadeRun> drive(Cascade& cascade, std::shared_ptr<const CallTarget> t, std::shared_ptr<const OutboundCall> call,
                                    Duration step = 10ms, int max_steps = 2000) {
    auto run = std::make_shared<CascadeRun>();
    asio::co_spawn(*io, cascade.run(std::move(t), std::move(call)), [run, this](std::exception_ptr e, Delivered d) {
      run->done = true;
      run->finished_at = clock.now();
      if (!e) {
        run->delivered = std::move(d);
        return;
      }
      try {
        std::rethrow_exception(e);
      } catch (const CallError& error) {
        run->error = error;
      } catch (const std::exception& other) {
        run->unexpected = other.what();
      }
    });
    for (int i = 0; i < max_steps && !run->done; ++i) {
      io->poll();
      if (!run->done) clock.advance(step);
    }
    return run;
  }
  std::shared_ptr<CascadeRun> drive(Cascade& cascade, std::shared_ptr<const OutboundCall> call) {
    return drive(cascade, target(), std::move(call));
  }

  // The common case: the node's two tiers with these scripts (libp2p reporting `libp2p_tier`), one
  // call of `timeout`; the transports and the cascade stay in `libp2p`, `nats` and `c`.
  std::shared_ptr<CascadeRun> two_tiers(Script on_libp2p, Script on_nats, Duration timeout = 3s, Via via = Via::any,
                                        Tier libp2p_tier = Tier::direct) {
    libp2p = transport(libp2p_tier, std::move(on_libp2p));
    nats = transport(Tier::nats, std::move(on_nats));
    c = cascade(order(libp2p, nats));
    return drive(*c, outbound(timeout, via));
  }

  // libp2p hangs and NATS answers: the run ends while the libp2p attempt goes on. The call and
  // target are watched, not held, so that what keeps them alive is the cascade's doing.
  struct Watched {
    std::shared_ptr<CascadeRun> run;
    std::weak_ptr<const CallTarget> target;
    std::weak_ptr<const OutboundCall> call;
  };
  Watched run_past_a_hung_tier() {
    libp2p = transport(Tier::direct, hangs());
    nats = transport(Tier::nats, answers("nats", 100ms));
    c = cascade(order(libp2p, nats));
    auto t = target();
    auto call = outbound(3s);
    Watched watched{nullptr, t, call};
    watched.run = drive(*c, std::move(t), std::move(call));
    return watched;
  }

  std::vector<FailedAttempt> failed;
  std::shared_ptr<ScriptedTransport> libp2p;
  std::shared_ptr<ScriptedTransport> nats;
  std::unique_ptr<Cascade> c;
};

std::string summary(const CascadeRun& run) {
  if (!run.done) return "still running";
  if (run.delivered) return "delivered " + json::serialize(run.delivered->result);
  if (run.error) return "CallError " + std::to_string(run.error->code()) + ": " + run.error->what();
  return "exception: " + run.unexpected;
}

// The run ended with a CallError of this code and message.
::testing::AssertionResult failed_with(const CascadeRun& run, int code, std::string_view message) {
  if (run.error && run.error->code() == code && run.error->what() == message) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << summary(run) << "; expected CallError " << code << ": " << message;
}

// The run ended with this CallError (an answer passed on as it came).
::testing::AssertionResult failed_with(const CascadeRun& run, const CallError& expected) {
  auto result = failed_with(run, expected.code(), expected.what());
  if (result && run.error->data() != expected.data())
    return ::testing::AssertionFailure() << "data " << json::serialize(run.error->data()) << ", expected "
                                         << json::serialize(expected.data());
  return result;
}

::testing::AssertionResult delivered(const CascadeRun& run, const json::value& result, Tier tier) {
  if (run.delivered && run.delivered->result == result && run.delivered->tier == tier) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << summary(run) << (run.delivered ? " over " + std::string(to_string(run.delivered->tier)) : "")
                                       << "; expected " << json::serialize(result) << " over " << to_string(tier);
}

constexpr int kTimeout = static_cast<int>(ErrorCode::timeout);
constexpr int kUnreachable = static_cast<int>(ErrorCode::unreachable);

json::value attempts(std::initializer_list<std::pair<const char*, const char*>> list) {
  json::array a;
  for (const auto& [tier, error] : list) a.push_back(json::object{{"tier", tier}, {"error", error}});
  return json::object{{"attempts", a}};
}

// 1. The first of two tiers gets two thirds of the deadline; when it hangs it is given up at
// exactly that, and the last tier gets the rest, up to the deadline.
TEST_F(CascadeTest, HungFirstTierGivenUpAtTwoThirdsAndTheLastGetsTheRest) {
  auto run = two_tiers(hangs(), answers(json::object{{"echo", "hi"}}, 500ms));

  ASSERT_TRUE(delivered(*run, json::object{{"echo", "hi"}}, Tier::nats));
  EXPECT_EQ(run->finished_at, t0 + 2500ms);
  ASSERT_EQ(libp2p->calls().size(), 1u);
  EXPECT_EQ(libp2p->calls()[0].id, "req-7");
  EXPECT_EQ(libp2p->calls()[0].method, "echo");
  EXPECT_EQ(libp2p->calls()[0].called_at, t0);
  EXPECT_EQ(libp2p->calls()[0].give_up_at, t0 + 2s);
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].id, "req-7");  // the same request ID on every tier
  EXPECT_EQ(nats->calls()[0].method, "echo");
  EXPECT_EQ(nats->calls()[0].called_at, t0 + 2s);
  EXPECT_EQ(nats->calls()[0].give_up_at, t0 + 3s);

  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].tier, "libp2p");
  EXPECT_TRUE(failed[0].outcome.timed_out);
  EXPECT_EQ(failed[0].outcome.failure, "no libp2p response within 2000 ms");
  EXPECT_EQ(libp2p->hanging(), 1u);  // given up, not cancelled: it may still finish on its own
}

// A tier that answers after its share is given up all the same; its late answer is not the result.
TEST_F(CascadeTest, LateAnswerAfterTheShareIsIgnored) {
  auto run = two_tiers(answers("late", 2500ms), answers("on time", 800ms), 3s, Via::any, Tier::relay);

  ASSERT_TRUE(delivered(*run, "on time", Tier::nats));
  EXPECT_EQ(run->finished_at, t0 + 2800ms);
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].called_at, t0 + 2s);
}

// The tier that carried the answer is the one the transport reports.
TEST_F(CascadeTest, FirstTierAnswersWithItsTier) {
  auto run = two_tiers(answers(42, 700ms), answers("unused"), 3s, Via::any, Tier::relay);

  ASSERT_TRUE(delivered(*run, 42, Tier::relay));
  EXPECT_EQ(run->finished_at, t0 + 700ms);
  EXPECT_TRUE(nats->calls().empty());
  EXPECT_TRUE(failed.empty());
}

// 2. A tier that fails fast hands over at once, and the last tier gets all the time left.
TEST_F(CascadeTest, FailFastHandsOverAtOnceWithTheWholeRemainingTime) {
  auto run = two_tiers(fails("dial failed: connection refused"), answers("ok", 100ms));

  ASSERT_TRUE(delivered(*run, "ok", Tier::nats));
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].called_at, t0);
  EXPECT_EQ(nats->calls()[0].give_up_at, t0 + 3s);
  EXPECT_EQ(run->finished_at, t0 + 100ms);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].outcome.failure, "dial failed: connection refused");
  EXPECT_FALSE(failed[0].outcome.timed_out);
}

TEST_F(CascadeTest, FailureAfterAWhileHandsOverTheRestOfTheDeadline) {
  auto run = two_tiers(fails("connection reset", 300ms), answers("ok", 100ms));

  ASSERT_TRUE(delivered(*run, "ok", Tier::nats));
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].called_at, t0 + 300ms);
  EXPECT_EQ(nats->calls()[0].give_up_at, t0 + 3s);
  EXPECT_EQ(run->finished_at, t0 + 400ms);
}

// Each tier but the last gets two thirds of what is left when it starts, not of the whole deadline.
TEST_F(CascadeTest, MiddleTierGetsTwoThirdsOfWhatIsLeft) {
  auto direct = transport(Tier::direct, fails("no route", 300ms));
  auto relay = transport(Tier::relay, hangs());
  auto last = transport(Tier::nats, answers("ok", 200ms));
  std::vector<CascadeTier> tiers;
  tiers.push_back(tier("direct", {Via::direct}, direct));
  tiers.push_back(tier("relay", {Via::relay}, relay));
  tiers.push_back(tier("nats", {Via::nats}, last));
  c = cascade(std::move(tiers));
  auto run = drive(*c, outbound(3s));

  ASSERT_TRUE(delivered(*run, "ok", Tier::nats));
  ASSERT_EQ(direct->calls().size(), 1u);
  EXPECT_EQ(direct->calls()[0].give_up_at, t0 + 2s);
  ASSERT_EQ(relay->calls().size(), 1u);
  EXPECT_EQ(relay->calls()[0].called_at, t0 + 300ms);
  EXPECT_EQ(relay->calls()[0].give_up_at, t0 + 300ms + 1800ms);  // 2/3 of the 2.7 s left
  ASSERT_EQ(last->calls().size(), 1u);
  EXPECT_EQ(last->calls()[0].called_at, t0 + 2100ms);
  EXPECT_EQ(last->calls()[0].give_up_at, t0 + 3s);
  EXPECT_EQ(run->finished_at, t0 + 2300ms);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[1].outcome.failure, "no relay response within 1800 ms");
}

// 3. Every tier fails: the last failure's code, every tier's reason in order, the hook per tier.
TEST_F(CascadeTest, EveryTierFailsFastIsUnreachableNamingEachReason) {
  auto run = two_tiers(fails("dial failed: connection refused"), fails("no responders", 50ms));

  ASSERT_TRUE(failed_with(*run, kUnreachable, "cannot reach agent-b: libp2p: dial failed: connection refused; nats: no responders"));
  EXPECT_EQ(run->error->data(), attempts({{"libp2p", "dial failed: connection refused"}, {"nats", "no responders"}}));
  EXPECT_EQ(run->finished_at, t0 + 50ms);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].tier, "libp2p");
  EXPECT_EQ(failed[1].tier, "nats");
}

TEST_F(CascadeTest, EveryTierFailsAndTheLastTimedOutIsTimeout) {
  auto run = two_tiers(fails("dial failed: connection refused"), times_out("nats request timed out", 1s));

  ASSERT_TRUE(failed_with(*run, kTimeout, "cannot reach agent-b: libp2p: dial failed: connection refused; nats: nats request timed out"));
  EXPECT_EQ(run->error->data(), attempts({{"libp2p", "dial failed: connection refused"}, {"nats", "nats request timed out"}}));
  EXPECT_EQ(run->finished_at, t0 + 1s);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_TRUE(failed[1].outcome.timed_out);
}

TEST_F(CascadeTest, EveryTierHangsIsTimeoutAtTheDeadline) {
  auto run = two_tiers(hangs(), hangs());

  ASSERT_TRUE(failed_with(*run, kTimeout,
                          "cannot reach agent-b: libp2p: no libp2p response within 2000 ms; nats: no nats response within 1000 ms"));
  EXPECT_EQ(run->finished_at, t0 + 3s);
  libp2p->release();
  nats->release();
  io->poll();
  EXPECT_EQ(libp2p->hanging() + nats->hanging(), 0u);
  EXPECT_EQ(failed.size(), 2u);  // a released attempt nobody waits for is no second failure
}

// The code follows the last failure, not the first.
TEST_F(CascadeTest, FirstTimedOutLastFailedFastIsUnreachable) {
  auto run = two_tiers(hangs(), fails("no responders"));

  ASSERT_TRUE(failed_with(*run, kUnreachable, "cannot reach agent-b: libp2p: no libp2p response within 2000 ms; nats: no responders"));
  EXPECT_EQ(run->finished_at, t0 + 2s);
}

// 4. An error answer is final: no other tier runs the call.
TEST_F(CascadeTest, ErrorAnswerIsFinal) {
  const CallError refusal(static_cast<int>(ErrorCode::method_not_found), "method not found: echo", json::object{{"method", "echo"}});
  auto run = two_tiers(refuses(refusal, 50ms), answers("must not be asked"));

  ASSERT_TRUE(failed_with(*run, refusal));
  EXPECT_EQ(run->finished_at, t0 + 50ms);
  EXPECT_TRUE(nats->calls().empty());
  EXPECT_TRUE(failed.empty());
}

// 5. `via` forces one tier, which gets the whole deadline; no fallback.
TEST_F(CascadeTest, ViaNatsCallsOnlyNatsWithTheWholeDeadline) {
  auto run = two_tiers(answers("libp2p"), answers("nats", 100ms), 3s, Via::nats);

  ASSERT_TRUE(delivered(*run, "nats", Tier::nats));
  EXPECT_TRUE(libp2p->calls().empty());
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].called_at, t0);
  EXPECT_EQ(nats->calls()[0].give_up_at, t0 + 3s);
}

TEST_F(CascadeTest, ViaDirectOrRelayCallsOnlyLibp2pWithTheWholeDeadline) {
  for (Via via : {Via::direct, Via::relay}) {
    SCOPED_TRACE(std::string(to_string(via)));
    const TimePoint start = clock.now();
    auto run = two_tiers(hangs(), answers("nats"), 3s, via);

    ASSERT_TRUE(failed_with(*run, kTimeout, "no libp2p response within 3000 ms"));  // one tier: its reason alone
    EXPECT_EQ(run->error->data(), attempts({{"libp2p", "no libp2p response within 3000 ms"}}));
    EXPECT_EQ(run->finished_at, start + 3s);
    ASSERT_EQ(libp2p->calls().size(), 1u);
    EXPECT_EQ(libp2p->calls()[0].give_up_at, start + 3s);
    EXPECT_TRUE(nats->calls().empty());
    libp2p->release();
  }
}

TEST_F(CascadeTest, ViaATierTheNodeLacksIsUnreachableWithItsReason) {
  libp2p = transport(Tier::direct, answers("libp2p"));
  c = cascade(order(libp2p, nullptr, "this node has no NATS server configured"));
  auto run = drive(*c, outbound(3s, Via::nats));

  ASSERT_TRUE(failed_with(*run, kUnreachable, "cannot reach agent-b: this node has no NATS server configured"));
  EXPECT_EQ(run->finished_at, t0);
  EXPECT_TRUE(libp2p->calls().empty());
}

TEST_F(CascadeTest, ViaATierThatCannotReachDoesNotFallBack) {
  libp2p = transport(Tier::direct, answers("libp2p"), "no libp2p address known");
  nats = transport(Tier::nats, answers("nats"));
  c = cascade(order(libp2p, nats));
  auto run = drive(*c, outbound(3s, Via::direct));

  ASSERT_TRUE(failed_with(*run, kUnreachable, "cannot reach agent-b: no libp2p address known"));
  EXPECT_TRUE(libp2p->calls().empty());
  EXPECT_TRUE(nats->calls().empty());
}

TEST_F(CascadeTest, TierThatCannotReachIsSkippedAndTheNextGetsTheWholeTime) {
  libp2p = transport(Tier::direct, answers("libp2p"), "no libp2p address known");
  nats = transport(Tier::nats, answers("nats", 100ms));
  c = cascade(order(libp2p, nats));
  auto run = drive(*c, outbound(3s));

  ASSERT_TRUE(delivered(*run, "nats", Tier::nats));
  EXPECT_TRUE(libp2p->calls().empty());
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].called_at, t0);
  EXPECT_EQ(nats->calls()[0].give_up_at, t0 + 3s);
  EXPECT_TRUE(failed.empty());  // skipped, not attempted
}

TEST_F(CascadeTest, NoTierCanReachIsUnreachableNamingEveryReason) {
  libp2p = transport(Tier::direct, answers("libp2p"), "no libp2p address known");
  c = cascade(order(libp2p, nullptr, "no NATS connection"));
  auto run = drive(*c, outbound(3s));

  ASSERT_TRUE(failed_with(*run, kUnreachable, "cannot reach agent-b: no libp2p address known and no NATS connection"));
  EXPECT_EQ(run->finished_at, t0);
  EXPECT_TRUE(libp2p->calls().empty());
}

// 6. A transport that throws: an exception is a failure, a CallError an answer.
TEST_F(CascadeTest, TransportThatThrowsFailsOverToTheNextTier) {
  auto run = two_tiers(throws_runtime("stream exploded"), answers("nats"));

  ASSERT_TRUE(delivered(*run, "nats", Tier::nats));
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].called_at, t0);
  EXPECT_EQ(nats->calls()[0].give_up_at, t0 + 3s);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].outcome.failure, "stream exploded");
}

TEST_F(CascadeTest, TransportThatThrowsEverywhereNamesTheException) {
  auto run = two_tiers(throws_runtime("stream exploded"), fails("no responders"));

  ASSERT_TRUE(failed_with(*run, kUnreachable, "cannot reach agent-b: libp2p: stream exploded; nats: no responders"));
}

TEST_F(CascadeTest, TransportThatThrowsCallErrorHasAnswered) {
  const CallError refusal(static_cast<int>(ErrorCode::forbidden), "forbidden: echo", json::object{{"method", "echo"}});
  auto run = two_tiers(throws_call_error(refusal), answers("must not be asked"));

  ASSERT_TRUE(failed_with(*run, refusal));
  EXPECT_TRUE(nats->calls().empty());
  EXPECT_TRUE(failed.empty());
}

// 7. A deadline already past fails "timeout" at once, even with transports that would hang.
TEST_F(CascadeTest, DeadlineAlreadyPastTimesOutWithoutHanging) {
  libp2p = transport(Tier::direct, hangs());
  nats = transport(Tier::nats, hangs());
  c = cascade(order(libp2p, nats));
  auto call = outbound(-1s);
  auto run = drive(*c, target(), call, 10ms, 5);

  ASSERT_TRUE(failed_with(*run, kTimeout,
                          "cannot reach agent-b: libp2p: no libp2p response within 0 ms; nats: no nats response within 0 ms"));
  EXPECT_EQ(run->finished_at, t0);  // no virtual time needed
  ASSERT_EQ(libp2p->calls().size(), 1u);
  EXPECT_EQ(libp2p->calls()[0].give_up_at, call->deadline);
  ASSERT_EQ(nats->calls().size(), 1u);
  EXPECT_EQ(nats->calls()[0].give_up_at, call->deadline);
}

// 8. A run that ends early leaves no alarm behind, and a hung attempt is kept alive only by its
// own frame: released, or destroyed with the io_context, it takes the call and target with it.
TEST_F(CascadeTest, RunThatEndsEarlyCancelsItsAlarm) {
  auto run = two_tiers(answers("ok", 500ms), answers("nats"));

  ASSERT_TRUE(delivered(*run, "ok", Tier::direct));
  EXPECT_EQ(run->finished_at, t0 + 500ms);
  EXPECT_EQ(clock.pending_alarms(), 0u);  // the 2 s give-up alarm went with the attempt
  clock.advance(5s);
  EXPECT_TRUE(failed.empty());
  EXPECT_TRUE(nats->calls().empty());
}

TEST_F(CascadeTest, ReleasedHungAttemptLetsGoOfTheCall) {
  auto watched = run_past_a_hung_tier();

  ASSERT_TRUE(delivered(*watched.run, "nats", Tier::nats));
  EXPECT_EQ(clock.pending_alarms(), 0u);
  // The cascade promised to keep what the hung attempt uses alive until it ends.
  EXPECT_FALSE(watched.call.expired());
  EXPECT_FALSE(watched.target.expired());
  EXPECT_EQ(libp2p->hanging(), 1u);
  libp2p->release();
  io->poll();
  EXPECT_EQ(libp2p->hanging(), 0u);
  EXPECT_TRUE(watched.call.expired());
  EXPECT_TRUE(watched.target.expired());
  EXPECT_EQ(failed.size(), 1u);
}

TEST_F(CascadeTest, HungAttemptGoesWithTheIoContext) {
  auto watched = run_past_a_hung_tier();
  std::weak_ptr<ScriptedTransport> weak_transport = libp2p;

  ASSERT_TRUE(delivered(*watched.run, "nats", Tier::nats));
  EXPECT_EQ(libp2p->hanging(), 1u);
  EXPECT_FALSE(watched.call.expired());
  // Never released: destroying the io_context destroys the hung frame and all it held (ASan's
  // leak check at exit would report a cycle that kept it).
  io.reset();
  EXPECT_EQ(libp2p->hanging(), 0u);
  EXPECT_TRUE(watched.call.expired());
  EXPECT_TRUE(watched.target.expired());
  c.reset();
  libp2p.reset();
  EXPECT_TRUE(weak_transport.expired());
}

}  // namespace
}  // namespace stargate::agent
