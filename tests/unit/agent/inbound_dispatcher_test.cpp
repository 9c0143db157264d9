// The inbound dispatcher (agent/inbound_dispatcher.hpp) on a real io_context with no transport:
// requests go in as parsed text with the caller a transport would have authenticated, responses
// come out as text and are read back with parse_response. No sockets, no sleeps: where time
// matters (the caller's deadline) the handler waits far longer than the deadline and the test
// asserts only on the response and the counters, never on elapsed time.
#include "agent/inbound_dispatcher.hpp"
#include "agent/jsonrpc.hpp"
#include "base/signal_io.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stargate::agent {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using asio::awaitable;

// A real identity, so that the PeerId the back-off hook gets can be compared with the caller's.
struct Identity {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::generate();
  crypto::PeerId peer_id = crypto::PeerId::from_public_key(key.public_key());
  std::string agent_id = crypto::agent_id(key.public_key());

  Caller caller(std::optional<std::string> ip = std::nullopt) const { return Caller{agent_id, peer_id.to_string(), std::move(ip)}; }
};

struct Outcome {
  bool done = false;
  std::exception_ptr error;
  std::string response;
};

// A handler that counts its runs and answers `result`.
Handler counting(int& runs, json::value result = "ok") {
  return [&runs, result](const json::value&, const CallContext&) -> awaitable<json::value> {
    ++runs;
    co_return result;
  };
}

class InboundDispatcherTest : public ::testing::Test {
 protected:
  // Declared first: destroyed last, after the dispatcher whose coroutines run on it.
  asio::io_context io;
  Rejections rejections;
  NodeOptions::RateLimits limits;
  std::shared_ptr<InboundDispatcher> dispatcher;
  Identity alice, bob;

  // Built after the test has set `limits`.
  InboundDispatcher& make() {
    check_rate_limits(limits);
    dispatcher = std::make_shared<InboundDispatcher>(io.get_executor(), limits, rejections);
    return *dispatcher;
  }

  std::shared_ptr<Outcome> start(const std::string& wire, std::optional<Caller> caller) {
    auto out = std::make_shared<Outcome>();
    asio::co_spawn(io, dispatcher->respond(parse_request(wire), std::move(caller)),
                   [out](std::exception_ptr e, InboundDispatcher::Response response) {
                     out->done = true;
                     out->error = e;
                     if (response) out->response = *response;
                   });
    return out;
  }

  // Runs the io_context until it has nothing left to do (a generous bound, never reached when the
  // dispatcher works).
  void run() {
    io.restart();
    io.run_for(10s);
  }

  // Polls without waiting for time to pass until `condition` holds (bounded).
  template <class Condition>
  bool poll_until(Condition condition) {
    for (int i = 0; i < 1000 && !condition(); ++i) {
      io.restart();
      io.poll();
    }
    return condition();
  }

  std::string respond(const std::string& wire, std::optional<Caller> caller) {
    auto out = start(wire, std::move(caller));
    run();
    EXPECT_TRUE(out->done) << "no response within the bound";
    if (out->error) {
      try {
        std::rethrow_exception(out->error);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "respond() threw: " << e.what();
      }
    }
    return out->response;
  }

  std::string call(const Identity& who, std::string_view method, std::int64_t id = 1,
                   std::optional<std::int64_t> deadline_ms = std::nullopt) {
    return respond(make_request(method, json::object{}, RequestId{id}, who.agent_id, deadline_ms), who.caller());
  }
};

Response parsed(const std::string& wire) {
  auto response = parse_response(wire);
  EXPECT_TRUE(response.has_value()) << wire;
  return response ? *response : Response{};
}

RpcError error_of(const std::string& wire) {
  auto response = parsed(wire);
  EXPECT_FALSE(response.ok()) << "expected an error: " << wire;
  return response.ok() ? RpcError{} : response.outcome.error();
}

json::value result_of(const std::string& wire) {
  auto response = parsed(wire);
  EXPECT_TRUE(response.ok()) << "expected a result: " << wire;
  return response.ok() ? *response.outcome : json::value();
}

TEST_F(InboundDispatcherTest, NoAuthenticatedCallerIsForbidden) {
  int runs = 0;
  make().handle("echo", counting(runs));
  auto response = respond(make_request("echo", json::object{}, RequestId{std::int64_t{1}}, alice.agent_id), std::nullopt);
  auto error = error_of(response);
  EXPECT_TRUE(error.is(ErrorCode::forbidden)) << response;
  EXPECT_EQ(parsed(response).id, RequestId{std::int64_t{1}});
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(rejections.by_reason["forbidden"], 1u);
}

TEST_F(InboundDispatcherTest, FromOtherThanTheCallerIsForbidden) {
  int runs = 0;
  make().handle("echo", counting(runs));
  // Bob's transport session, Alice's name in `from`.
  auto response = respond(make_request("echo", json::object{}, RequestId{std::int64_t{1}}, alice.agent_id), bob.caller());
  EXPECT_TRUE(error_of(response).is(ErrorCode::forbidden)) << response;
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(rejections.by_reason["forbidden"], 1u);
  // The same request from its own sender runs.
  EXPECT_EQ(result_of(call(alice, "echo")), json::value("ok"));
  EXPECT_EQ(runs, 1);
}

TEST_F(InboundDispatcherTest, GarbageIsAParseError) {
  make();
  auto response = respond("this is not json {", alice.caller());
  EXPECT_TRUE(error_of(response).is(ErrorCode::parse_error)) << response;
  EXPECT_FALSE(parsed(response).id.has_value());
  EXPECT_EQ(rejections.by_reason["invalid_request"], 1u);
}

TEST_F(InboundDispatcherTest, JsonThatIsNoRequestIsInvalidWithItsId) {
  make();
  auto response = respond(R"({"jsonrpc":"2.0","id":5,"from":"x"})", alice.caller());  // no method
  EXPECT_TRUE(error_of(response).is(ErrorCode::invalid_request)) << response;
  EXPECT_EQ(parsed(response).id, RequestId{std::int64_t{5}});
  EXPECT_EQ(rejections.by_reason["invalid_request"], 1u);
}

TEST_F(InboundDispatcherTest, UnknownMethodIsNotFound) {
  int runs = 0;
  make().handle("echo", counting(runs));
  auto response = call(alice, "nope");
  auto error = error_of(response);
  EXPECT_TRUE(error.is(ErrorCode::method_not_found)) << response;
  EXPECT_NE(error.message.find("nope"), std::string::npos) << error.message;
  EXPECT_EQ(runs, 0);
}

TEST_F(InboundDispatcherTest, CatchAllAnswersUnregisteredMethodsOnly) {
  int echo_runs = 0;
  std::vector<CallContext> seen;
  auto& d = make();
  d.handle("echo", counting(echo_runs, "echo"));
  d.handle_any([&seen](const json::value&, const CallContext& context) -> awaitable<json::value> {
    seen.push_back(context);
    co_return json::value("any");
  });
  EXPECT_EQ(result_of(call(alice, "other", 1)), json::value("any"));
  EXPECT_EQ(result_of(call(alice, "echo", 2)), json::value("echo"));
  EXPECT_EQ(echo_runs, 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "other");
  EXPECT_EQ(seen[0].caller_agent_id, alice.agent_id);
  EXPECT_EQ(seen[0].caller_peer_id, alice.peer_id.to_string());
}

TEST_F(InboundDispatcherTest, HandlerCallErrorIsTheErrorResponse) {
  make().handle("fail", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    throw CallError(4242, "not today", json::object{{"why", "because"}});
    co_return json::value();
  });
  auto error = error_of(call(alice, "fail"));
  EXPECT_EQ(error.code, 4242);
  EXPECT_EQ(error.message, "not today");
  EXPECT_EQ(error.data, (json::object{{"why", "because"}}));
}

TEST_F(InboundDispatcherTest, HandlerExceptionIsAnInternalError) {
  make().handle("fail", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    throw std::runtime_error("boom");
    co_return json::value();
  });
  auto error = error_of(call(alice, "fail"));
  EXPECT_TRUE(error.is(ErrorCode::internal_error)) << error.to_string();
  EXPECT_EQ(error.message, "handler failed: boom");
}

TEST_F(InboundDispatcherTest, RetryWithTheSameIdGetsTheFirstResponse) {
  int runs = 0;
  make().handle("count", [&runs](const json::value&, const CallContext&) -> awaitable<json::value> {
    co_return json::value(++runs);
  });
  auto first = call(alice, "count", 7);
  auto retry = call(alice, "count", 7);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(first, retry);
  EXPECT_EQ(result_of(retry), json::value(1));
  EXPECT_EQ(dispatcher->counters().requests_deduplicated, 1u);
  // The cache is per caller: Bob's request 7 is another request.
  EXPECT_EQ(result_of(call(bob, "count", 7)), json::value(2));
  EXPECT_EQ(runs, 2);
  // And per ID.
  EXPECT_EQ(result_of(call(alice, "count", 8)), json::value(3));
}

TEST_F(InboundDispatcherTest, RetryWhileRunningJoinsTheFirstRun) {
  int runs = 0;
  bool released = false;
  Signal release(io.get_executor());
  make().handle("slow", [&](const json::value&, const CallContext&) -> awaitable<json::value> {
    ++runs;
    while (!released) co_await release.wait();
    co_return json::value(runs);
  });
  const auto request = make_request("slow", json::object{}, RequestId{std::string("r1")}, alice.agent_id);
  auto first = start(request, alice.caller());
  auto retry = start(request, alice.caller());
  ASSERT_TRUE(poll_until([&] { return runs == 1 && dispatcher->counters().requests_deduplicated == 1; }));
  EXPECT_FALSE(first->done);
  EXPECT_FALSE(retry->done);  // waiting for the first run, not answered on its own
  released = true;
  release.notify_all();
  run();
  ASSERT_TRUE(first->done);
  ASSERT_TRUE(retry->done);
  EXPECT_FALSE(first->error);
  EXPECT_FALSE(retry->error);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(first->response, retry->response);
  EXPECT_EQ(result_of(retry->response), json::value(1));
}

TEST_F(InboundDispatcherTest, CallerDeadlineCancelsTheHandler) {
  bool aborted = false, finished = false;
  make().handle("slow", [&](const json::value&, const CallContext&) -> awaitable<json::value> {
    // Far longer than the deadline and than run()'s bound: only the cancellation ends it in time.
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, std::chrono::hours(1));
    try {
      co_await timer.async_wait(asio::use_awaitable);
    } catch (const boost::system::system_error& e) {
      aborted = e.code() == asio::error::operation_aborted;
      throw;
    }
    finished = true;
    co_return json::value("late");
  });
  auto response = call(alice, "slow", 1, 50);
  auto error = error_of(response);
  EXPECT_TRUE(error.is(ErrorCode::timeout)) << response;
  EXPECT_EQ(parsed(response).id, RequestId{std::int64_t{1}});
  EXPECT_EQ(dispatcher->counters().handlers_cancelled, 1u);
  // run() returned with nothing left to do: the handler's wait was cut short, not waited out.
  EXPECT_TRUE(aborted);
  EXPECT_FALSE(finished);
}

TEST_F(InboundDispatcherTest, DeadlineLongerThanTheHandlerCancelsNothing) {
  int runs = 0;
  make().handle("echo", counting(runs));
  EXPECT_EQ(result_of(call(alice, "echo", 1, 60'000)), json::value("ok"));
  EXPECT_EQ(dispatcher->counters().handlers_cancelled, 0u);
}

TEST_F(InboundDispatcherTest, CallOverTheCallersRateIsRefusedWithARetryHint) {
  limits.calls_per_second = 0.01;  // one token every 100 s: no refill while the test runs
  limits.calls_burst = 1;
  int runs = 0;
  make().handle("echo", counting(runs));
  EXPECT_EQ(result_of(call(alice, "echo", 1)), json::value("ok"));
  auto response = call(alice, "echo", 2);
  auto error = error_of(response);
  EXPECT_TRUE(error.is(ErrorCode::rate_limited)) << response;
  auto hint = retry_after(error);
  ASSERT_TRUE(hint.has_value()) << response;
  EXPECT_GT(hint->count(), 0);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(dispatcher->counters().requests_rate_limited, 1u);
  EXPECT_EQ(dispatcher->counters().requests_rate_limited_by.at("peer"), 1u);
  // Another caller has a bucket of its own.
  EXPECT_EQ(result_of(call(bob, "echo", 2)), json::value("ok"));
  EXPECT_EQ(runs, 2);
}

TEST_F(InboundDispatcherTest, CallOverItsIpsRateIsRefusedWithoutAStrikeOnTheCaller) {
  limits.calls_per_ip_per_second = 0.01;
  limits.calls_per_ip_burst = 1;
  limits.strikes_before_backoff = 1;
  int runs = 0, hooked = 0;
  auto& d = make();
  d.handle("echo", counting(runs));
  d.on_backoff([&hooked](const crypto::PeerId&) { ++hooked; });
  const std::optional<std::string> ip = "192.0.2.7";
  EXPECT_EQ(result_of(respond(make_request("echo", json::object{}, RequestId{std::int64_t{1}}, alice.agent_id),
                              alice.caller(ip))),
            json::value("ok"));
  auto response = respond(make_request("echo", json::object{}, RequestId{std::int64_t{1}}, bob.agent_id), bob.caller(ip));
  EXPECT_TRUE(error_of(response).is(ErrorCode::rate_limited)) << response;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("ip"), 1u);
  // Sharing an IP with a busy caller is not Bob's doing.
  EXPECT_EQ(hooked, 0);
  EXPECT_FALSE(d.backed_off(bob.peer_id.to_string(), std::chrono::steady_clock::now()));
}

TEST_F(InboundDispatcherTest, RepeatedRefusalsPutTheCallerInBackoff) {
  limits.calls_per_second = 0.01;
  limits.calls_burst = 1;
  limits.strikes_before_backoff = 3;
  int runs = 0;
  std::vector<crypto::PeerId> backed_off;
  auto& d = make();
  d.handle("echo", counting(runs));
  d.on_backoff([&backed_off](const crypto::PeerId& peer) { backed_off.push_back(peer); });
  EXPECT_EQ(result_of(call(alice, "echo", 1)), json::value("ok"));
  for (std::int64_t id = 2; id <= 3; ++id) EXPECT_TRUE(error_of(call(alice, "echo", id)).is(ErrorCode::rate_limited));
  EXPECT_TRUE(backed_off.empty()) << "two strikes of three";
  EXPECT_FALSE(d.backed_off(alice.peer_id.to_string(), std::chrono::steady_clock::now()));

  EXPECT_TRUE(error_of(call(alice, "echo", 4)).is(ErrorCode::rate_limited));
  ASSERT_EQ(backed_off.size(), 1u);
  EXPECT_EQ(backed_off[0], alice.peer_id);
  EXPECT_TRUE(d.backed_off(alice.peer_id.to_string(), std::chrono::steady_clock::now()));
  EXPECT_EQ(d.counters().peers_backed_off, 1u);

  // In back-off: refused as such, with a hint, and the hook is not called again.
  auto error = error_of(call(alice, "echo", 5));
  EXPECT_TRUE(error.is(ErrorCode::rate_limited));
  auto hint = retry_after(error);
  ASSERT_TRUE(hint.has_value());
  EXPECT_GT(hint->count(), 0);
  EXPECT_EQ(backed_off.size(), 1u);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("peer"), 3u);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("backoff"), 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(d.backed_off(bob.peer_id.to_string(), std::chrono::steady_clock::now()));
}

TEST_F(InboundDispatcherTest, RefusedCallersAreCountedAndStruck) {
  limits.strikes_before_backoff = 3;
  std::vector<crypto::PeerId> backed_off;
  auto& d = make();
  d.on_backoff([&backed_off](const crypto::PeerId& peer) { backed_off.push_back(peer); });
  d.refused(alice.peer_id, A2aRefusal::peer_busy);
  d.refused(alice.peer_id, A2aRefusal::ip_busy);
  EXPECT_TRUE(backed_off.empty());
  d.refused(alice.peer_id, A2aRefusal::node_busy);
  ASSERT_EQ(backed_off.size(), 1u);
  EXPECT_EQ(backed_off[0], alice.peer_id);
  EXPECT_TRUE(d.backed_off(alice.peer_id.to_string(), std::chrono::steady_clock::now()));
  EXPECT_EQ(d.counters().requests_rate_limited, 3u);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("peer_busy"), 1u);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("ip_busy"), 1u);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("node_busy"), 1u);
  EXPECT_EQ(d.counters().peers_backed_off, 1u);
}

TEST_F(InboundDispatcherTest, OneStallWeighsSeveralStrikes) {
  limits.strikes_before_backoff = 5;  // fewer than a stall weighs
  std::vector<crypto::PeerId> backed_off;
  auto& d = make();
  d.on_backoff([&backed_off](const crypto::PeerId& peer) { backed_off.push_back(peer); });
  d.refused(bob.peer_id, A2aRefusal::too_slow);
  ASSERT_EQ(backed_off.size(), 1u);
  EXPECT_EQ(backed_off[0], bob.peer_id);
  EXPECT_EQ(d.counters().requests_rate_limited_by.at("too_slow"), 1u);
}

TEST_F(InboundDispatcherTest, ResponseOverTheLimitIsReplacedByPayloadTooLarge) {
  make().handle("big", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    co_return json::value(json::string(kMaxMessageBytes, 'x'));
  });
  auto response = call(alice, "big", 9);
  EXPECT_LE(response.size(), kMaxMessageBytes);
  auto error = error_of(response);
  ASSERT_TRUE(error.is(ErrorCode::payload_too_large)) << error.to_string();
  EXPECT_EQ(parsed(response).id, RequestId{std::int64_t{9}});
  ASSERT_TRUE(error.data.is_object());
  EXPECT_GT(error.data.as_object().at("size").to_number<std::uint64_t>(), kMaxMessageBytes);
  EXPECT_EQ(error.data.as_object().at("limit").to_number<std::uint64_t>(), kMaxMessageBytes);
}

}  // namespace
}  // namespace stargate::agent
