// Streamed results (docs/protocol.md "Streamed results") over libp2p (/stargate/a2a/1.1.0) and
// NATS: partials in order and exactly once, then the final result; a slow reader slows the handler
// with memory bounded on both sides; cancellation reaches the handler; a relay that dies mid-stream
// is replaced by the backup relay, or by NATS, and the stream resumes where it stopped; frames the
// broker repeats or that a stranger forges are dropped and counted; nobody but the caller can
// resume it.
#include "agent/jsonrpc.hpp"
#include "agent/stream_frames.hpp"
#include "base/varint.hpp"
#include "host_test_support.hpp"
#include "nats/client.hpp"
#include "nats_server.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "agent_test_support.hpp"

#include <boost/asio/steady_timer.hpp>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

class AgentStreamTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

awaitable<void> pause_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

// Sends params.count partials {"i": i, "pad": <params.pad bytes>}, then answers {"sent": count}.
StreamHandler counting_handler(int* cancelled = nullptr) {
  return [cancelled](const json::value& params, const CallContext&, ResultStream& partials) -> awaitable<json::value> {
    const auto count = params.at("count").as_int64();
    const std::string pad(static_cast<std::size_t>(params.as_object().contains("pad") ? params.at("pad").as_int64() : 0), 'p');
    try {
      for (std::int64_t i = 0; i < count; ++i) {
        // Named first: g++ 12 miscompiles an initializer list inside a co_await expression.
        json::value partial = json::object{{"i", i}, {"pad", pad}};
        co_await partials.send(std::move(partial));
      }
    } catch (const CallError&) {
      if (cancelled) ++*cancelled;
      throw;
    }
    co_return json::object{{"sent", count}};
  };
}

TEST_F(AgentStreamTest, PartialsArriveInOrderThenTheFinalResult) {
  StarGateNode a(io.get_executor(), p2p_agent("alice"));
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  b.handle_stream("count", counting_handler());
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    const auto bob = b.get_status().addresses.front();
    json::value thousand = json::object{{"count", 1000}};
    auto stream = co_await a.call_stream(bob, "count", thousand);
    std::int64_t expected = 0;
    for (;;) {
      auto partial = co_await stream.next();
      if (!partial) break;
      CO_ASSERT_TRUE(partial->at("i").as_int64() == expected);
      ++expected;
    }
    EXPECT_EQ(expected, 1000);
    auto final = co_await stream.result();
    EXPECT_EQ(final.at("sent").as_int64(), 1000);

    // A unary call to a streaming method gets the final result alone; a streamed call to a unary
    // method gets no partials, then its result.
    json::value five = json::object{{"count", 5}};
    auto unary = co_await a.call(bob, "count", five);
    EXPECT_EQ(unary.at("sent").as_int64(), 5);
    json::value x = json::object{{"x", 1}};
    auto plain = co_await a.call_stream(bob, "echo", x);
    auto no_partial = co_await plain.next();
    EXPECT_FALSE(no_partial);
    auto plain_result = co_await plain.result();
    EXPECT_EQ(plain_result.at("echo").at("x").as_int64(), 1);
    // The callee's error is the stream's.
    auto missing = co_await a.call_stream(bob, "nope", nullptr);
    int code = 0;
    try {
      auto first = co_await missing.next();
      (void)first;
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, static_cast<int>(agent::ErrorCode::method_not_found));
    // Finished streams are not kept once their final frame was acknowledged.
    bool released = co_await wait_until([&] { return b.get_status().streams_open == 0; }, 5s);
    EXPECT_TRUE(released);
    co_await a.stop();
    co_await b.stop();
  });
}

// 100 MB as 64 KiB partials to a reader that takes its time, directly and through a relay: every
// partial arrives in order, and what either side holds stays within the window (4 MiB) and one
// partial, by the node's own accounting.
awaitable<void> stream_100_mb_slowly_via(StarGateNode& a, StarGateNode& b, const std::string& address, Via via) {
  const std::uint64_t bound = agent::kDefaultStreamWindow + agent::kMaxPartialBytes;
  const int count = 1600;
  CallOptions options;
  options.timeout = 240s;
  options.via = via;
  json::value params = json::object{{"count", count}, {"pad", 64 * 1024}};
  auto stream = co_await a.call_stream(address, "count", params, options);
  std::uint64_t most_callee = 0, most_caller = 0;
  int expected = 0;
  for (;;) {
    auto partial = co_await stream.next();
    if (!partial) break;
    CO_ASSERT_TRUE(partial->at("i").as_int64() == expected);
    CO_ASSERT_TRUE(partial->at("pad").as_string().size() == 64 * 1024);
    ++expected;
    most_callee = std::max(most_callee, b.get_status().stream_buffered_bytes);
    most_caller = std::max(most_caller, stream.buffered_bytes());
    if (expected % 64 == 0) co_await pause_for(20ms);  // the slow part
  }
  EXPECT_EQ(expected, count);
  auto final = co_await stream.result();
  EXPECT_EQ(final.at("sent").as_int64(), count);
  EXPECT_GT(most_callee, 0u);
  EXPECT_LE(most_callee, bound);
  EXPECT_LE(most_caller, bound);
}

awaitable<void> stream_100_mb_slowly(StarGateNode& a, StarGateNode& b, const std::string& address) {
  co_await stream_100_mb_slowly_via(a, b, address, Via::any);
}

TEST_F(AgentStreamTest, ASlowReaderSlowsTheHandlerWithinTheWindow) {
  StarGateNode a(io.get_executor(), p2p_agent("alice"));
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  b.handle_stream("count", counting_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    co_await stream_100_mb_slowly(a, b, b.get_status().addresses.front());
    co_await a.stop();
    co_await b.stop();
  }, 280s);
}

p2p::relay::RelayServiceOptions private_relay() {
  p2p::relay::RelayServiceOptions options;
  options.limits = p2p::relay::RelayLimits::private_relay();
  return options;
}

TEST_F(AgentStreamTest, ASlowReaderSlowsTheHandlerWithinTheWindowThroughARelay) {
  TestNode relay(io);
  auto service = p2p::relay::RelayService::enable(relay.host, private_relay());
  auto options = p2p_agent("bob", {});
  options.relays = {relay.full_addr().to_string()};
  StarGateNode b(io.get_executor(), options);
  StarGateNode a(io.get_executor(), p2p_agent("alice", {}));
  b.handle_stream("count", counting_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    bool reserved = co_await wait_until([&] { return !b.get_status().addresses.empty(); }, 10s);
    CO_ASSERT_TRUE(reserved);
    co_await stream_100_mb_slowly(a, b, b.get_status().addresses.front());
    EXPECT_EQ(a.get_status().calls_ok_relayed, 1u);
    co_await a.stop();
    co_await b.stop();
  }, 280s);
}

TEST_F(AgentStreamTest, CancellingTheStreamCancelsTheHandler) {
  StarGateNode a(io.get_executor(), p2p_agent("alice"));
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  int cancelled = 0;
  b.handle_stream("count", counting_handler(&cancelled));
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    json::value endless = json::object{{"count", 1'000'000'000}, {"pad", 1000}};
    auto stream = co_await a.call_stream(b.get_status().addresses.front(), "count", endless);
    for (int i = 0; i < 10; ++i) {
      auto partial = co_await stream.next();
      CO_ASSERT_TRUE(partial.has_value());
    }
    stream.cancel();
    bool stopped = co_await wait_until([&] { return cancelled == 1; }, 10s);
    EXPECT_TRUE(stopped);
    EXPECT_GE(b.get_status().handlers_cancelled, 1u);
    bool released = co_await wait_until([&] { return b.get_status().streams_open == 0; }, 10s);
    EXPECT_TRUE(released);
    co_await a.stop();
    co_await b.stop();
  });
}

// Bob listens nowhere and holds reservations on two relays; alice streams from him through the
// first. It dies mid-stream: the stream resumes through the second, with every partial exactly
// once and in order. No broker to fall back on.
TEST_F(AgentStreamTest, AStreamResumesThroughTheBackupRelayWhenItsRelayDies) {
  TestNode first(io), second(io);
  auto first_service = p2p::relay::RelayService::enable(first.host, private_relay());
  auto second_service = p2p::relay::RelayService::enable(second.host, private_relay());
  auto options = p2p_agent("bob", {});
  options.relays = {first.full_addr().to_string(), second.full_addr().to_string()};
  StarGateNode b(io.get_executor(), options);
  StarGateNode a(io.get_executor(), p2p_agent("alice", {}));
  b.handle_stream("count", counting_handler());
  b.handle("echo", echo_handler());
  auto circuit_through = [&](const TestNode& relay) {
    for (const auto& addr : b.get_status().addresses)
      if (addr.rfind(relay.full_addr().to_string() + "/p2p-circuit/", 0) == 0) return addr;
    return std::string();
  };
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    bool reserved = co_await wait_until([&] { return !circuit_through(first).empty() && !circuit_through(second).empty(); }, 10s);
    CO_ASSERT_TRUE(reserved);
    // Alice meets bob through the first relay and learns his addresses (identify).
    co_await a.call(circuit_through(first), "echo", nullptr);
    const int count = 10'000;
    CallOptions call_options;
    call_options.timeout = 60s;
    json::value params = json::object{{"count", count}};
    auto stream = co_await a.call_stream(b.peer_id(), "count", params, call_options);
    int expected = 0;
    for (;;) {
      auto partial = co_await stream.next();
      if (!partial) break;
      CO_ASSERT_TRUE(partial->at("i").as_int64() == expected);
      ++expected;
      if (expected == count / 2) {
        first_service->close();
        first.host.close();
      }
    }
    EXPECT_EQ(expected, count);
    auto final = co_await stream.result();
    EXPECT_EQ(final.at("sent").as_int64(), count);
    EXPECT_EQ(second_service->counters().circuits_opened, 1u);
    EXPECT_EQ(b.get_status().streams_resumed, 1u);
    EXPECT_NE(b.get_metrics().find("stargate_streams_resumed_total 1\n"), std::string::npos);
    EXPECT_EQ(b.get_status().requests_served, 2u);  // the echo, and the stream's one run
    co_await a.stop();
    co_await b.stop();
  }, 120s);
}

// A raw libp2p host that knows alice's call ID tries to resume and to cancel her stream: refused,
// and alice's stream goes on.
TEST_F(AgentStreamTest, NobodyButTheCallerCanResumeOrCancelItsStream) {
  StarGateNode a(io.get_executor(), p2p_agent("alice"));
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  b.handle_stream("count", counting_handler());
  TestNode mallory(io, {}, std::nullopt, "");
  const auto mallory_agent = crypto::agent_id(mallory.host.identity().public_key());
  auto framed = [](std::string_view text) {
    Bytes out;
    append_uvarint(out, text.size());
    append(out, as_bytes(text));
    return out;
  };
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    const auto bob = b.get_status().addresses.front();
    json::value params = json::object{{"count", 100}, {"pad", 100 * 1024}};
    auto stream = co_await a.call_stream(bob, "count", params);
    auto first_partial = co_await stream.next();
    CO_ASSERT_TRUE(first_partial.has_value());
    auto connection = co_await mallory.host.connect(Multiaddr::parse(bob).value());
    std::vector<std::string> protocols{"/stargate/a2a/1.1.0"};
    const std::vector<std::string> claimed{mallory_agent, a.agent_id()};
    for (const auto& from : claimed) {
      auto raw = co_await mallory.host.open_stream(connection, protocols);
      const auto resume = framed(agent::make_resume_frame(agent::StreamResume{stream.call_id(), from, 0, agent::kDefaultStreamWindow}));
      co_await raw->write_all(resume);
      const auto cancel = framed(agent::make_cancel_frame(stream.call_id()));
      co_await raw->write_all(cancel);
      auto answer = co_await p2p::read_length_prefixed(*raw, agent::kMaxMessageBytes);
      auto frame = agent::parse_callee_frame(as_string(answer));
      CO_ASSERT_TRUE(frame && frame->final);
      EXPECT_TRUE(frame->final->outcome.error().is(agent::ErrorCode::stream_lost)) << as_string(answer);
    }
    int got = 1;
    for (;;) {
      auto partial = co_await stream.next();
      if (!partial) break;
      ++got;
    }
    EXPECT_EQ(got, 100);
    EXPECT_EQ(b.get_status().handlers_cancelled, 0u);
    co_await a.stop();
    co_await b.stop();
  });
}

// Over NATS alone (via nats): in order, once; the same 100 MB bound with a slow reader; every frame
// the broker delivers twice (a stranger republishes what it sees on the caller's inbox) and a
// forged one are dropped and counted; cancellation reaches the handler.
TEST_F(AgentStreamTest, OverNatsFramesArriveOnceInOrderAndDuplicatesAndForgeriesAreDropped) {
  auto server = NatsServer::start();
  StarGateNode a(io.get_executor(), p2p_agent_with_nats("alice", server.url()));
  StarGateNode b(io.get_executor(), p2p_agent_with_nats("bob", server.url()));
  int cancelled = 0;
  b.handle_stream("count", counting_handler(&cancelled));
  // A stranger on the broker that repeats every message it sees on reply subjects, and adds one of
  // its own.
  nats::ClientOptions spy_options;
  spy_options.urls = {server.url()};
  auto spy = nats::Client::create(io.get_executor(), spy_options);
  std::size_t repeated = 0;
  std::vector<nats::Subscription> subscriptions;
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await spy->connect();
    subscriptions.push_back(spy->subscribe("_INBOX.>", [&](const nats::Message& m) {
      if (m.subject.find(".c.") == std::string::npos || repeated >= 500) return;
      ++repeated;
      spy->publish(m.subject, m.data);
      if (repeated == 1) spy->publish(m.subject, as_bytes("{\"seq\":2,\"partial\":\"forged\"}"));
    }));
    co_await spy->flush(std::chrono::milliseconds(2000));
    co_await a.start();
    co_await b.start();
    co_await a.discover();
    CallOptions over_nats;
    over_nats.via = Via::nats;
    over_nats.timeout = 60s;
    json::value params = json::object{{"count", 2000}, {"pad", 100}};
    auto stream = co_await a.call_stream("bob", "count", params, over_nats);
    int expected = 0;
    for (;;) {
      auto partial = co_await stream.next();
      if (!partial) break;
      CO_ASSERT_TRUE(partial->at("i").as_int64() == expected);
      ++expected;
    }
    EXPECT_EQ(expected, 2000);
    auto final = co_await stream.result();
    EXPECT_EQ(final.at("sent").as_int64(), 2000);
    bool counted = co_await wait_until([&] { return a.get_status().calls_ok_nats == 1; }, 5s);
    EXPECT_TRUE(counted);
    EXPECT_GT(repeated, 100u);
    // Every repeated frame is dropped and counted: by the session's replay window, as a duplicate
    // sequence number, or as an answer nobody waits for once the stream ended; the forged one as
    // malformed.
    auto count_of = [&](const char* key) {
      const auto rejected = a.get_status().requests_rejected_by;
      return rejected.count(key) ? rejected.at(key) : 0;
    };
    bool all_dropped = co_await wait_until([&] {
      return count_of("reply_replay") + count_of("stream_frame_duplicate") + count_of("reply_no_call") >= repeated;
    }, 10s);
    EXPECT_TRUE(all_dropped) << count_of("reply_replay") << " " << count_of("stream_frame_duplicate") << " "
                             << count_of("reply_no_call") << " of " << repeated;
    EXPECT_GT(count_of("reply_replay"), 0u);
    EXPECT_GE(count_of("reply_malformed"), 1u);

    // The 100 MB bound over NATS too.
    co_await stream_100_mb_slowly_via(a, b, "bob", Via::nats);

    json::value endless = json::object{{"count", 1'000'000'000}, {"pad", 1000}};
    auto doomed = co_await a.call_stream("bob", "count", endless, over_nats);
    for (int i = 0; i < 10; ++i) {
      auto partial = co_await doomed.next();
      CO_ASSERT_TRUE(partial.has_value());
    }
    doomed.cancel();
    bool stopped = co_await wait_until([&] { return cancelled == 1; }, 10s);
    EXPECT_TRUE(stopped);
    bool released = co_await wait_until([&] { return b.get_status().streams_open == 0; }, 10s);
    EXPECT_TRUE(released);
    subscriptions.clear();
    spy->close();
    co_await a.stop();
    co_await b.stop();
  }, 280s);
}

// Bob is reachable through one relay, and through the broker. The relay dies mid-stream: the
// stream resumes over NATS, every partial once and in order.
TEST_F(AgentStreamTest, AStreamWhoseOnlyRelayDiesResumesOverNats) {
  auto server = NatsServer::start();
  TestNode relay(io);
  auto service = p2p::relay::RelayService::enable(relay.host, private_relay());
  auto options = p2p_agent_with_nats("bob", server.url(), {});
  options.relays = {relay.full_addr().to_string()};
  StarGateNode b(io.get_executor(), options);
  StarGateNode a(io.get_executor(), p2p_agent_with_nats("alice", server.url(), {}));
  b.handle_stream("count", counting_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    bool reserved = co_await wait_until([&] { return !b.get_status().addresses.empty(); }, 10s);
    CO_ASSERT_TRUE(reserved);
    // Alice learns bob's circuit address from his announcement (sent again when it changed).
    bool known = false;
    for (int round = 0; round < 50 && !known; ++round) {
      auto peers = co_await a.discover();
      for (const auto& p : peers)
        if (p.name == "bob" && !p.addresses.empty()) known = true;
    }
    CO_ASSERT_TRUE(known);
    const int count = 10'000;
    CallOptions call_options;
    call_options.timeout = 60s;
    json::value params = json::object{{"count", count}};
    auto stream = co_await a.call_stream("bob", "count", params, call_options);
    int expected = 0;
    for (;;) {
      auto partial = co_await stream.next();
      if (!partial) break;
      CO_ASSERT_TRUE(partial->at("i").as_int64() == expected);
      ++expected;
      if (expected == count / 2) {
        service->close();
        relay.host.close();
      }
    }
    EXPECT_EQ(expected, count);
    auto final = co_await stream.result();
    EXPECT_EQ(final.at("sent").as_int64(), count);
    EXPECT_EQ(b.get_status().streams_resumed, 1u);
    bool counted = co_await wait_until([&] { return a.get_status().calls_ok_nats == 1; }, 5s);
    EXPECT_TRUE(counted);
    co_await a.stop();
    co_await b.stop();
  }, 120s);
}

}  // namespace
}  // namespace stargate
