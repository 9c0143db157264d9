// StarGateNode calls over libp2p (/stargate/a2a/1.0.0): by multiaddr, through a Circuit Relay v2
// relay, by name with NATS for discovery only; errors and hostile requests over the same stream
// protocol.
#include "agent/a2a_io.hpp"
#include "agent/control_socket.hpp"
#include "agent/jsonrpc.hpp"
#include "base/signal_io.hpp"
#include "base/varint.hpp"
#include "host_test_support.hpp"
#include "http_test_support.hpp"
#include "nats_server.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "agent_test_support.hpp"

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

class AgentP2pTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

TEST_F(AgentP2pTest, CallByMultiaddrWithoutABroker) {
  StarGateNode a(io.get_executor(), p2p_agent("alice"));
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  b.handle("echo", echo_handler());
  b.handle("fail", [](const json::value&, const CallContext&) -> awaitable<json::value> {
    throw CallError(42, "told to fail");
    co_return nullptr;
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    auto addresses = b.get_status().addresses;
    CO_ASSERT_FALSE(addresses.empty());
    EXPECT_NE(addresses.front().find("/p2p/" + b.peer_id()), std::string::npos);
    json::value params = json::object{{"x", 7}};
    auto result = co_await a.call(addresses.front(), "echo", params);
    EXPECT_EQ(result.at("echo").at("x").as_int64(), 7);
    EXPECT_EQ(result.at("caller").as_string(), a.agent_id());  // authenticated by Noise
    EXPECT_EQ(a.get_status().calls_ok_libp2p, 1u);

    int code = 0;
    try {
      co_await a.call(addresses.front(), "nope", nullptr);
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, static_cast<int>(agent::ErrorCode::method_not_found));
    try {
      co_await a.call(addresses.front(), "fail", nullptr);
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, 42);
    // 4 MB each way over one stream.
    json::value big = json::object{{"blob", std::string(4'000'000, 'q')}};
    auto echoed = co_await a.call(addresses.front(), "echo", big);
    EXPECT_EQ(echoed.at("echo").at("blob").as_string().size(), 4'000'000u);
    // A request over 10 MB is refused before it is sent.
    json::value huge = json::object{{"blob", std::string(10'000'001, 'q')}};
    code = 0;
    try {
      co_await a.call(addresses.front(), "echo", huge);
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, static_cast<int>(agent::ErrorCode::payload_too_large));
    // A dead address is "unreachable", with the reason. (Any address of B would do: the open
    // connection to B is reused, so this one names a peer nobody runs.)
    auto nobody = crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key()).to_string();
    std::string reason;
    try {
      co_await a.call("/ip4/127.0.0.1/tcp/1/p2p/" + nobody, "echo", nullptr);
    } catch (const CallError& e) {
      code = e.code();
      reason = e.what();
    }
    EXPECT_EQ(code, static_cast<int>(agent::ErrorCode::unreachable));
    EXPECT_NE(reason.find("tcp/1"), std::string::npos) << reason;
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_F(AgentP2pTest, StatusReportsReachabilityFromAutonat) {
  // Loopback counts as public here, as the lab's ranges do with STARGATE_TREAT_AS_PUBLIC.
  auto options = [](const std::string& name) {
    auto o = p2p_agent(name);
    o.treat_as_public = {"127.0.0.0/8"};
    return o;
  };
  StarGateNode a(io.get_executor(), options("reach-a"));
  StarGateNode b(io.get_executor(), options("reach-b")), c(io.get_executor(), options("reach-c")),
      d(io.get_executor(), options("reach-d"));
  for (auto* n : {&b, &c, &d}) n->handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (auto* n : {&a, &b, &c, &d}) co_await n->start();
    EXPECT_EQ(a.get_status().reachability, "unknown");
    // Calls connect a to three peers; each is asked to dial a back.
    for (auto* n : {&b, &c, &d}) co_await a.call(n->get_status().addresses.front(), "echo", nullptr);
    CO_ASSERT_TRUE(co_await wait_until([&] { return a.get_status().reachability == "public"; }, 20s));
    auto json_status = agent::to_json(a.get_status());
    EXPECT_EQ(json_status.at("reachability").as_string(), "public");
    EXPECT_TRUE(json_status.as_object().contains("nat_kind"));
    for (auto* n : {&a, &b, &c, &d}) co_await n->stop();
  });
}

TEST_F(AgentP2pTest, CallThroughARelayToANodeThatDoesNotListen) {
  TestNode relay(io);
  auto service = p2p::relay::RelayService::enable(relay.host);
  auto options = p2p_agent("bob", {});
  options.relays = {relay.full_addr().to_string()};
  StarGateNode b(io.get_executor(), options);
  StarGateNode a(io.get_executor(), p2p_agent("alice", {}));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    bool reserved = co_await wait_until([&] { return !b.get_status().addresses.empty(); }, 10s);
    CO_ASSERT_TRUE(reserved);
    auto status = b.get_status();
    CO_ASSERT_TRUE(status.reservations.size() == 1);
    EXPECT_TRUE(status.reservations[0].active);
    EXPECT_EQ(status.reservations[0].relay, relay.host.peer_id().to_string());
    const auto& circuit = status.addresses.front();
    EXPECT_NE(circuit.find("/p2p-circuit/p2p/" + b.peer_id()), std::string::npos) << circuit;
    json::value params = json::object{{"via", "relay"}};
    auto result = co_await a.call(circuit, "echo", params);
    EXPECT_EQ(result.at("echo").at("via").as_string(), "relay");
    EXPECT_EQ(service->counters().circuits_opened, 1u);
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_F(AgentP2pTest, ACallWhosePooledConnectionDiedGoesOnOverAFreshOne) {
  // Bob listens nowhere and reserves on two relays; alice's connection to him goes through the
  // first. That relay dies, and alice calls at once, before she has noticed: the call fails on the
  // pooled connection, which is closed, and goes on through the second relay. No broker to fall
  // back on.
  TestNode first(io), second(io);
  auto first_service = p2p::relay::RelayService::enable(first.host);
  auto second_service = p2p::relay::RelayService::enable(second.host);
  auto options = p2p_agent("bob", {});
  options.relays = {first.full_addr().to_string(), second.full_addr().to_string()};
  StarGateNode b(io.get_executor(), options);
  StarGateNode a(io.get_executor(), p2p_agent("alice", {}));
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
    const auto backup = circuit_through(second);
    co_await a.call(circuit_through(first), "echo", nullptr);
    first_service->close();
    first.host.close();
    json::value params = json::object{{"after", "first relay died"}};
    auto result = co_await a.call(backup, "echo", params);
    EXPECT_EQ(result.at("echo").at("after").as_string(), "first relay died");
    EXPECT_EQ(a.get_status().calls_ok_relayed, 2u);
    EXPECT_EQ(a.get_status().calls_failed, 0u);
    EXPECT_EQ(second_service->counters().circuits_opened, 1u);
    EXPECT_EQ(b.get_status().requests_served, 2u);
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_F(AgentP2pTest, AnnouncedAddressesCarryCallsOverLibp2pWithNatsForDiscovery) {
  auto server = NatsServer::start();
  auto with_nats = [&](const std::string& name) { return p2p_agent_with_nats(name, server.url()); };
  StarGateNode a(io.get_executor(), with_nats("alice"));
  StarGateNode b(io.get_executor(), with_nats("bob"));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    auto peers = co_await a.discover();
    CO_ASSERT_TRUE(peers.size() == 1);
    EXPECT_FALSE(peers[0].addresses.empty());
    json::value params = json::object{{"n", 1}};
    auto result = co_await a.call("bob", "echo", params);
    EXPECT_EQ(result.at("echo").at("n").as_int64(), 1);
    auto status = a.get_status();
    EXPECT_EQ(status.calls_ok_libp2p, 1u);
    EXPECT_EQ(status.calls_ok_nats, 0u);
    co_await a.stop();
    co_await b.stop();
  });
}

// `via` forces one tier; the status says which one carried each call.
TEST_F(AgentP2pTest, ViaForcesEachTier) {
  auto server = NatsServer::start();
  TestNode relay(io);
  auto relay_service = p2p::relay::RelayService::enable(relay.host);
  auto with_nats = [&](const std::string& name) { return p2p_agent_with_nats(name, server.url()); };
  auto bob_options = with_nats("bob");
  bob_options.relays = {relay.full_addr().to_string()};
  StarGateNode a(io.get_executor(), with_nats("alice"));
  StarGateNode b(io.get_executor(), bob_options);
  StarGateNode c(io.get_executor(), with_nats("carol"));  // no relay
  b.handle("echo", echo_handler());
  c.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    co_await c.start();
    bool reserved = co_await wait_until([&] {
      for (const auto& addr : b.get_status().addresses)
        if (addr.find("/p2p-circuit/") != std::string::npos) return true;
      return false;
    }, 10s);
    CO_ASSERT_TRUE(reserved);
    co_await b.announce();  // with its circuit address
    co_await a.discover();
    json::value params = json::object{{"t", 1}};
    CallOptions direct;
    direct.via = Via::direct;
    co_await a.call("bob", "echo", params, direct);
    EXPECT_EQ(a.get_status().calls_ok_direct, 1u);
    CallOptions relayed;
    relayed.via = Via::relay;
    co_await a.call("bob", "echo", params, relayed);
    EXPECT_EQ(a.get_status().calls_ok_relayed, 1u);
    EXPECT_EQ(relay_service->counters().circuits_opened, 1u);
    CallOptions nats;
    nats.via = Via::nats;
    co_await a.call("bob", "echo", params, nats);
    EXPECT_EQ(a.get_status().calls_ok_nats, 1u);
    // carol holds no reservation: forcing the relay tier fails, with the reason, and no fallback.
    int code = 0;
    std::string message;
    try {
      co_await a.call("carol", "echo", params, relayed);
    } catch (const CallError& e) {
      code = e.code();
      message = e.what();
    }
    EXPECT_EQ(code, static_cast<int>(agent::ErrorCode::unreachable));
    EXPECT_NE(message.find("no relayed address"), std::string::npos) << message;
    EXPECT_EQ(a.get_status().calls_ok_nats, 1u);
    EXPECT_EQ(parse_via("relay"), Via::relay);
    EXPECT_FALSE(parse_via("carrier-pigeon"));
    co_await a.stop();
    co_await b.stop();
    co_await c.stop();
  });
}

// An agent's /metrics (off by default, here on an ephemeral loopback port) scraped over HTTP:
// every family the node exports is there and moves with the calls.
TEST_F(AgentP2pTest, MetricsEndpointShowsCallsByTierAndTheNodeState) {
  auto a_options = p2p_agent("alice");
  a_options.metrics_listen = "127.0.0.1:0";
  StarGateNode a(io.get_executor(), a_options);
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    EXPECT_TRUE(b.get_status().metrics_address.empty());  // off unless asked
    auto where = a.get_status().metrics_address;
    CO_ASSERT_FALSE(where.empty());
    auto colon = where.rfind(':');
    p2p::tcp::endpoint endpoint(boost::asio::ip::make_address(where.substr(0, colon)),
                                static_cast<unsigned short>(std::stoi(where.substr(colon + 1))));
    auto target = b.get_status().addresses.front();
    json::value params = json::object{{"m", 1}};
    co_await a.call(target, "echo", params);
    co_await a.call(target, "echo", params);
    try {
      co_await a.call(target, "no-such-method", params);
    } catch (const CallError&) {
    }
    auto health = co_await http_client::get(endpoint, "/healthz");
    EXPECT_EQ(health.status, 200u);
    auto scrape = co_await http_client::get(endpoint, "/metrics");
    EXPECT_EQ(scrape.status, 200u);
    const auto& text = scrape.body;
    for (const char* line : {"stargate_calls_total{tier=\"direct\",outcome=\"ok\"} 2\n",
                             "stargate_calls_total{tier=\"any\",outcome=\"error\"} 1\n",
                             "stargate_call_duration_seconds_count{tier=\"direct\"} 2\n",
                             "stargate_connections{kind=\"direct\"} 1\n",
                             "stargate_pool_misses_total 1\n",
                             "stargate_nats_connected 0\n"}) {
      EXPECT_NE(text.find(line), std::string::npos) << "missing " << line << " in\n" << text;
    }
    for (const char* family : {"# TYPE stargate_call_duration_seconds histogram", "# TYPE stargate_reachability gauge",
                               "# TYPE stargate_nat_kind gauge", "# TYPE stargate_holepunch_attempts_total counter",
                               "# TYPE stargate_pool_hits_total counter", "# TYPE stargate_streams gauge",
                               "# TYPE stargate_requests_served_total counter", "# TYPE stargate_known_peers gauge"}) {
      EXPECT_NE(text.find(family), std::string::npos) << "missing " << family;
    }
    // get_metrics() renders the same registry.
    EXPECT_NE(a.get_metrics().find("stargate_calls_total{tier=\"direct\",outcome=\"ok\"} 2\n"), std::string::npos);
    co_await a.stop();
    co_await b.stop();
    bool refused = false;
    try {
      co_await http_client::get(endpoint, "/healthz");
    } catch (const std::exception&) {
      refused = true;  // stop() closed the endpoint
    }
    EXPECT_TRUE(refused);
  });
}

// At most once: the same request (same caller, same ID) sent again, while the first run goes on
// and after it ended, runs the handler once; every copy gets the first run's response.
TEST_F(AgentP2pTest, ARepeatedRequestRunsItsHandlerOnce) {
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  int runs = 0;
  bool release = false;
  Signal changed(io.get_executor());
  b.handle("count", [&](const json::value&, const CallContext&) -> awaitable<json::value> {
    ++runs;
    changed.notify_all();
    while (!release) co_await changed.wait();
    co_return json::value(runs);
  });
  TestNode raw(io, {}, std::nullopt, "");
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await b.start();
    auto connection = co_await raw.host.connect(Multiaddr::parse(b.get_status().addresses.front()).value());
    auto caller = agent::agent_id_of(raw.host.peer_id()).value();
    auto request = agent::make_request("count", nullptr, agent::RequestId(std::string("same-id")), caller);
    std::vector<std::string> answers;
    for (int i = 0; i < 2; ++i) {
      boost::asio::co_spawn(io, [&]() -> awaitable<void> {
        answers.push_back(co_await agent::a2a_round_trip(raw.host, connection, request));
        changed.notify_all();
      }, boost::asio::detached);
    }
    bool first_running = co_await wait_until([&] { return runs == 1; }, 5s);
    CO_ASSERT_TRUE(first_running);
    bool joined = co_await wait_until([&] { return b.get_status().requests_deduplicated == 1; }, 5s);
    CO_ASSERT_TRUE(joined);
    release = true;
    changed.notify_all();
    bool both = co_await wait_until([&] { return answers.size() == 2; }, 5s);
    CO_ASSERT_TRUE(both);
    auto again = co_await agent::a2a_round_trip(raw.host, connection, request);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(answers[0], answers[1]);
    EXPECT_EQ(again, answers[0]);
    EXPECT_EQ(json::parse(again).at("result").as_int64(), 1);
    EXPECT_EQ(b.get_status().requests_deduplicated, 2u);
    // A new ID is a new request.
    auto other = agent::make_request("count", nullptr, agent::RequestId(std::string("other-id")), caller);
    auto fresh = co_await agent::a2a_round_trip(raw.host, connection, other);
    EXPECT_EQ(json::parse(fresh).at("result").as_int64(), 2);
    co_await b.stop();
  });
}

// The caller's remaining deadline travels with the request: a handler still running when it
// passes is cancelled (its pending wait is aborted), and the node counts it.
TEST_F(AgentP2pTest, AHandlerWhoseCallerGaveUpIsCancelled) {
  StarGateNode a(io.get_executor(), p2p_agent("alice"));
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  bool cancelled = false;
  bool finished = false;
  b.handle("slow", [&](const json::value&, const CallContext&) -> awaitable<json::value> {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 30s);
    try {
      co_await timer.async_wait(p2p::use_awaitable);
      finished = true;
    } catch (const boost::system::system_error& e) {
      cancelled = e.code() == boost::asio::error::operation_aborted;
      throw;
    }
    co_return json::value(true);
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    auto target = b.get_status().addresses.front();
    int code = 0;
    try {
      co_await a.call(target, "slow", nullptr, std::chrono::milliseconds(300));
    } catch (const CallError& e) {
      code = e.code();
    }
    EXPECT_EQ(code, static_cast<int>(agent::ErrorCode::timeout));
    bool stopped = co_await wait_until([&] { return cancelled; }, 5s);
    EXPECT_TRUE(stopped) << "the handler kept running after its caller gave up";
    EXPECT_FALSE(finished);
    EXPECT_EQ(b.get_status().handlers_cancelled, 1u);
    co_await a.stop();
    co_await b.stop();
  });
}

// A raw libp2p host speaks /stargate/a2a/1.0.0 to a node: the stream protocol's own checks.
TEST_F(AgentP2pTest, HostileA2aRequestsGetPreciseErrorsAndTheNodeKeepsServing) {
  StarGateNode b(io.get_executor(), p2p_agent("bob"));
  b.handle("echo", echo_handler());
  TestNode raw(io, {}, std::nullopt, "");
  auto a2a = [&](std::shared_ptr<p2p::MuxedConnection> connection, Bytes wire) -> awaitable<json::value> {
    std::vector<std::string> protocols{"/stargate/a2a/1.0.0"};
    auto stream = co_await raw.host.open_stream(connection, protocols);
    co_await stream->write_all(wire);
    co_await stream->close_write();
    auto response = co_await p2p::read_length_prefixed(*stream, agent::kMaxMessageBytes);
    co_return json::parse(as_string(response));
  };
  auto framed = [](std::string_view text) {
    Bytes out;
    append_uvarint(out, text.size());
    append(out, as_bytes(text));
    return out;
  };
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await b.start();
    auto connection = co_await raw.host.connect(Multiaddr::parse(b.get_status().addresses.front()).value());

    // `from` names another agent than the one Noise authenticated.
    auto forged = agent::make_request("echo", nullptr, agent::RequestId(std::string("1")), std::string(32, 'a'));
    auto r1 = co_await a2a(connection, framed(forged));
    EXPECT_EQ(r1.at("error").at("code").as_int64(), static_cast<int>(agent::ErrorCode::forbidden));
    // Not JSON.
    auto r2 = co_await a2a(connection, framed("{not json"));
    EXPECT_EQ(r2.at("error").at("code").as_int64(), static_cast<int>(agent::ErrorCode::parse_error));
    // A length prefix over 10 MB: answered from the prefix alone.
    Bytes oversized;
    append_uvarint(oversized, 20'000'000);
    oversized.resize(oversized.size() + 100, 'x');
    auto r3 = co_await a2a(connection, oversized);
    EXPECT_EQ(r3.at("error").at("code").as_int64(), static_cast<int>(agent::ErrorCode::payload_too_large));
    // And an honest request from the same connection still works.
    auto caller = agent::agent_id_of(raw.host.peer_id());
    CO_ASSERT_TRUE(caller.has_value());
    json::value params = json::object{{"ok", true}};
    auto honest = agent::make_request("echo", params, agent::RequestId(std::string("2")), *caller);
    auto r4 = co_await a2a(connection, framed(honest));
    EXPECT_TRUE(r4.at("result").at("echo").at("ok").as_bool());
    EXPECT_EQ(r4.at("result").at("caller").as_string(), *caller);
    co_await b.stop();
  });
}

// Requests beyond the in-flight bound are answered "rate limited" at once, unread; the ones in
// flight finish normally.
TEST_F(AgentP2pTest, A2aRequestsBeyondTheInFlightBoundAreRateLimited) {
  TestNode server(io), client(io, {}, std::nullopt, "");
  int started = 0;
  bool release = false;
  Signal changed(io.get_executor());
  agent::enable_a2a(
      server.host,
      [&](std::string request, p2p::ConnectionInfo) -> awaitable<std::string> {
        ++started;
        changed.notify_all();
        while (!release) co_await changed.wait();
        co_return request;  // echoes the request text, enough to tell it went through
      },
      [] {
        agent::A2aServeOptions options;
        options.in_flight.total = 2;
        return options;
      }());
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await client.host.connect(server.full_addr());
    std::vector<std::string> answers(3);
    int done = 0;
    for (int i = 0; i < 2; ++i) {
      boost::asio::co_spawn(io, [&, i]() -> awaitable<void> {
        answers[static_cast<std::size_t>(i)] = co_await agent::a2a_round_trip(client.host, connection, "request " + std::to_string(i));
        ++done;
        changed.notify_all();
      }, boost::asio::detached);
    }
    bool both_started = co_await wait_until([&] { return started == 2; }, 5s);
    CO_ASSERT_TRUE(both_started);
    auto refused = json::parse(co_await agent::a2a_round_trip(client.host, connection, "request 2"));
    EXPECT_EQ(refused.at("error").at("code").as_int64(), static_cast<int>(agent::ErrorCode::rate_limited));
    EXPECT_TRUE(refused.at("error").at("data").at("retry_after_ms").is_int64());
    EXPECT_EQ(started, 2);  // the third never reached the handler
    release = true;
    changed.notify_all();
    bool finished = co_await wait_until([&] { return done == 2; }, 5s);
    CO_ASSERT_TRUE(finished);
    EXPECT_EQ(answers[0], "request 0");
    EXPECT_EQ(answers[1], "request 1");
  });
}

}  // namespace
}  // namespace stargate
