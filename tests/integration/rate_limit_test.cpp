// Abuse prevention under floods (docs/limits.md, "Rate limits"): a caller over its rate gets -32007
// "rate limited" with data.retry_after_ms and is served again after the hint, over libp2p and over
// NATS; a caller that keeps flooding is disconnected and backed off; flooded and hostile
// announcements are dropped and counted. Meanwhile a well-behaved peer keeps its service.
#include "agent/announcement.hpp"
#include "agent/a2a_io.hpp"
#include "agent/jsonrpc.hpp"
#include "agent_test_support.hpp"
#include "crypto/peer_id.hpp"
#include "host_test_support.hpp"
#include "nats/client.hpp"
#include "nats_server.hpp"
#include "stargate/node.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>

#include <string>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using stargate::testing::echo_handler;
using stargate::testing::fresh_dir;
using stargate::testing::NatsServer;
using stargate::testing::p2p_agent;
using stargate::testing::run_with_timeout;
using stargate::testing::TestNode;
using stargate::testing::wait_until;

constexpr int kRateLimited = static_cast<int>(agent::ErrorCode::rate_limited);

awaitable<void> pause(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
  co_await t.async_wait(p2p::use_awaitable);
}

// The value of one metric line (`name{labels}` exactly as exposed), or -1 when absent.
double metric(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// The outcome of one call: the result, or the error code and retry_after_ms (0 when absent).
struct Outcome {
  bool ok = false;
  int code = 0;
  std::int64_t retry_after_ms = 0;
};

awaitable<Outcome> try_call(StarGateNode& node, const std::string& peer, CallOptions options = {}) {
  Outcome out;
  json::value params = json::object{{"x", 1}};
  std::optional<CallError> error;
  try {
    co_await node.call(peer, "echo", params, options);
    out.ok = true;
  } catch (const CallError& e) {
    error = e;
  }
  if (error) {
    out.code = error->code();
    if (const auto* data = error->data().if_object()) {
      if (const auto* r = data->if_contains("retry_after_ms"); r && r->is_int64()) out.retry_after_ms = r->as_int64();
    }
  }
  co_return out;
}

// Calls until the first refusal (at most `max` calls); returns it and how many went through.
awaitable<std::pair<Outcome, int>> flood(StarGateNode& node, const std::string& peer, int max, CallOptions options = {}) {
  int served = 0;
  for (int i = 0; i < max; ++i) {
    auto outcome = co_await try_call(node, peer, options);
    if (!outcome.ok) co_return std::pair(outcome, served);
    ++served;
  }
  co_return std::pair(Outcome{}, served);
}

// A handler that counts its runs.
Handler counting_echo(int& runs) {
  return [&runs](const json::value& params, const CallContext& ctx) -> awaitable<json::value> {
    ++runs;
    co_return json::object{{"echo", params}, {"caller", ctx.caller_agent_id}};
  };
}

class RateLimitTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

TEST_F(RateLimitTest, ALibp2pFlooderIsRefusedWithAHintWhileAPoliteCallerIsServed) {
  auto callee_options = p2p_agent("rl-callee");
  callee_options.rate_limits.calls_per_second = 2;
  callee_options.rate_limits.calls_burst = 5;
  StarGateNode callee(io.get_executor(), callee_options);
  StarGateNode flooder(io.get_executor(), p2p_agent("rl-flooder", {}));
  StarGateNode polite(io.get_executor(), p2p_agent("rl-polite", {}));
  int runs = 0;
  callee.handle("echo", counting_echo(runs));
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await callee.start();
    co_await flooder.start();
    co_await polite.start();
    const auto target = callee.get_status().addresses.at(0);
    auto [refusal, served] = co_await flood(flooder, target, 50);
    CO_ASSERT_FALSE(refusal.ok);
    EXPECT_EQ(refusal.code, kRateLimited);
    EXPECT_GT(refusal.retry_after_ms, 0);
    EXPECT_LE(refusal.retry_after_ms, 500);  // one token at 2 a second
    EXPECT_GE(served, 5);
    EXPECT_LT(served, 50);
    EXPECT_EQ(runs, served);  // the refused call's handler did not run
    // The polite caller has a bucket of its own (both come from 127.0.0.1: the IP limit is wide).
    for (int i = 0; i < 3; ++i) EXPECT_TRUE((co_await try_call(polite, target)).ok) << i;
    auto status = callee.get_status();
    EXPECT_EQ(status.requests_rate_limited, 1u);
    EXPECT_EQ(status.requests_rate_limited_by["peer"], 1u);
    EXPECT_EQ(metric(callee.get_metrics(), "stargate_requests_rate_limited_total{limit=\"peer\"}"), 1);
    EXPECT_EQ(metric(callee.get_metrics(), "stargate_requests_rate_limited_total{limit=\"ip\"}"), 0);
    // After the hint, the flooder is served again.
    co_await pause(std::chrono::milliseconds(refusal.retry_after_ms));
    EXPECT_TRUE((co_await try_call(flooder, target)).ok);
    co_await flooder.stop();
    co_await polite.stop();
    co_await callee.stop();
  });
}

TEST_F(RateLimitTest, ThePerIpLimitHoldsBackEveryCallerOfThatIp) {
  auto callee_options = p2p_agent("rl-ip-callee");
  callee_options.rate_limits.calls_per_ip_per_second = 2;
  callee_options.rate_limits.calls_per_ip_burst = 4;
  StarGateNode callee(io.get_executor(), callee_options);
  StarGateNode first(io.get_executor(), p2p_agent("rl-ip-1", {}));
  StarGateNode second(io.get_executor(), p2p_agent("rl-ip-2", {}));
  callee.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await callee.start();
    co_await first.start();
    co_await second.start();
    const auto target = callee.get_status().addresses.at(0);
    auto [refusal, served] = co_await flood(first, target, 50);
    EXPECT_EQ(refusal.code, kRateLimited);
    EXPECT_GE(served, 4);
    // Another agent from the same IP finds the IP's bucket empty.
    auto other = co_await try_call(second, target);
    EXPECT_EQ(other.code, kRateLimited);
    EXPECT_GT(other.retry_after_ms, 0);
    EXPECT_GE(callee.get_status().requests_rate_limited_by["ip"], 2u);
    co_await first.stop();
    co_await second.stop();
    co_await callee.stop();
  });
}

// A refusal is not the request's result: the same request ID, sent again after the hint, runs.
TEST_F(RateLimitTest, ARefusedRequestRunsWhenRetriedWithItsIdAfterTheHint) {
  auto callee_options = p2p_agent("rl-once-callee");
  callee_options.rate_limits.calls_per_second = 2;
  callee_options.rate_limits.calls_burst = 1;
  StarGateNode callee(io.get_executor(), callee_options);
  int runs = 0;
  callee.handle("echo", counting_echo(runs));
  TestNode client(io, {}, std::nullopt, "");
  const auto from = crypto::agent_id(client.host.identity().public_key());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await callee.start();
    auto addr = Multiaddr::parse(callee.get_status().addresses.at(0)).value();
    auto connection = co_await client.host.connect(addr);
    json::value params = json::object{};
    auto first = agent::parse_response(co_await agent::a2a_round_trip(
        client.host, connection, agent::make_request("echo", params, agent::RequestId(std::string("a")), from)));
    CO_ASSERT_TRUE(first && first->ok());
    auto refused = agent::parse_response(co_await agent::a2a_round_trip(
        client.host, connection, agent::make_request("echo", params, agent::RequestId(std::string("b")), from)));
    CO_ASSERT_TRUE(refused && !refused->ok());
    CO_ASSERT_TRUE(refused->outcome.error().is(agent::ErrorCode::rate_limited));
    auto hint = agent::retry_after(refused->outcome.error());
    CO_ASSERT_TRUE(hint.has_value());
    EXPECT_EQ(runs, 1);
    co_await pause(*hint);
    auto retried = agent::parse_response(co_await agent::a2a_round_trip(
        client.host, connection, agent::make_request("echo", params, agent::RequestId(std::string("b")), from)));
    CO_ASSERT_TRUE(retried.has_value());
    EXPECT_TRUE(retried->ok());
    EXPECT_EQ(runs, 2);
    co_await callee.stop();
  });
}

TEST_F(RateLimitTest, ACallerThatKeepsFloodingIsDisconnectedAndBackedOff) {
  auto callee_options = p2p_agent("rl-ban-callee");
  callee_options.rate_limits.calls_per_second = 1;
  callee_options.rate_limits.calls_burst = 2;
  callee_options.rate_limits.strikes_before_backoff = 3;
  callee_options.rate_limits.backoff = 1500ms;
  StarGateNode callee(io.get_executor(), callee_options);
  StarGateNode flooder(io.get_executor(), p2p_agent("rl-ban-flooder", {}));
  StarGateNode polite(io.get_executor(), p2p_agent("rl-ban-polite", {}));
  callee.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await callee.start();
    co_await flooder.start();
    co_await polite.start();
    const auto target = callee.get_status().addresses.at(0);
    EXPECT_TRUE((co_await try_call(polite, target)).ok);
    Outcome last;
    int refusals = 0;
    for (int i = 0; i < 20 && refusals < 3; ++i) {
      last = co_await try_call(flooder, target);
      if (!last.ok) ++refusals;
    }
    CO_ASSERT_TRUE(refusals == 3);
    EXPECT_EQ(last.code, kRateLimited);
    EXPECT_EQ(last.retry_after_ms, 1500);  // the back-off's length
    EXPECT_EQ(callee.get_status().peers_backed_off, 1u);
    const auto flooder_id = flooder.peer_id();
    auto connected = [&] {
      for (const auto& c : callee.get_status().connections)
        if (c.peer_id == flooder_id) return true;
      return false;
    };
    CO_ASSERT_TRUE(co_await wait_until([&] { return !connected(); }, 5s));
    const auto banned_at = std::chrono::steady_clock::now();
    // During the back-off it is refused: its new connection is closed, or the call refused.
    auto during = co_await try_call(flooder, target);
    EXPECT_FALSE(during.ok);
    auto status = callee.get_status();
    EXPECT_GE(status.connections_refused_backoff + status.requests_rate_limited_by["backoff"], 1u);
    // The polite caller is still served.
    EXPECT_TRUE((co_await try_call(polite, target)).ok);
    // After the back-off, the flooder is served again.
    co_await pause(std::chrono::duration_cast<std::chrono::milliseconds>(banned_at + 1600ms - std::chrono::steady_clock::now()));
    EXPECT_TRUE((co_await try_call(flooder, target)).ok);
    co_await flooder.stop();
    co_await polite.stop();
    co_await callee.stop();
  });
}

NodeOptions nats_agent(const std::string& name, const NatsServer& server) {
  NodeOptions options;
  options.display_name = name;
  options.identity_dir = fresh_dir(name);
  options.nats_urls = {server.url()};
  options.transports = {Transport::nats};
  options.discovery_window = 200ms;
  options.default_call_timeout = 5s;
  return options;
}

TEST_F(RateLimitTest, ANatsFlooderIsRefusedWithAHintWhileAPoliteCallerIsServed) {
  NatsServer server = NatsServer::start();
  auto callee_options = nats_agent("rl-nats-callee", server);
  callee_options.rate_limits.calls_per_second = 2;
  callee_options.rate_limits.calls_burst = 3;
  StarGateNode callee(io.get_executor(), callee_options);
  StarGateNode flooder(io.get_executor(), nats_agent("rl-nats-flooder", server));
  StarGateNode polite(io.get_executor(), nats_agent("rl-nats-polite", server));
  int runs = 0;
  callee.handle("echo", counting_echo(runs));
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await callee.start();
    co_await flooder.start();
    co_await polite.start();
    CallOptions over_nats;
    over_nats.via = Via::nats;
    auto [refusal, served] = co_await flood(flooder, "rl-nats-callee", 50, over_nats);
    CO_ASSERT_FALSE(refusal.ok);
    EXPECT_EQ(refusal.code, kRateLimited);
    EXPECT_GT(refusal.retry_after_ms, 0);
    EXPECT_GE(served, 3);
    EXPECT_EQ(runs, served);
    for (int i = 0; i < 2; ++i) EXPECT_TRUE((co_await try_call(polite, "rl-nats-callee", over_nats)).ok) << i;
    EXPECT_EQ(callee.get_status().requests_rate_limited_by["peer"], 1u);
    co_await pause(std::chrono::milliseconds(refusal.retry_after_ms));
    EXPECT_TRUE((co_await try_call(flooder, "rl-nats-callee", over_nats)).ok);
    co_await flooder.stop();
    co_await polite.stop();
    co_await callee.stop();
  });
}

TEST_F(RateLimitTest, FloodedAndHostileAnnouncementsAreDroppedWhileANormalAnnouncerIsDiscovered) {
  NatsServer server = NatsServer::start();
  auto listener_options = nats_agent("rl-listener", server);
  listener_options.rate_limits.announcements_per_second = 1;
  listener_options.rate_limits.announcements_burst = 2;
  listener_options.rate_limits.strikes_before_backoff = 5;
  StarGateNode listener(io.get_executor(), listener_options);
  StarGateNode normal(io.get_executor(), nats_agent("rl-normal", server));
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await listener.start();
    nats::ClientOptions client_options;
    client_options.urls = {server.url()};
    auto flooder = nats::Client::create(io.get_executor(), client_options);
    co_await flooder->connect();
    const auto key = crypto::Ed25519PrivateKey::generate();
    agent::AnnouncementInfo info;
    info.name = "rl-flooder";
    info.ttl = 90s;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string subject(agent::kAnnounceSubject);
    for (int i = 0; i < 30; ++i) {
      auto wire = agent::sign_announcement(key, info, now + i);
      CO_ASSERT_TRUE(wire.has_value());
      flooder->publish(subject, as_bytes(*wire));
    }
    // From the future, badly signed, too large.
    flooder->publish(subject, as_bytes(agent::sign_announcement(key, info, now + 3'600'000).value()));
    auto forged = agent::sign_announcement(crypto::Ed25519PrivateKey::generate(), info, now).value();
    const auto sig_at = forged.rfind("\"sig\":\"") + 7;
    forged[sig_at] = forged[sig_at] == '0' ? '1' : '0';
    flooder->publish(subject, as_bytes(forged));
    flooder->publish(subject, as_bytes("{\"doc\":\"" + std::string(70 * 1024, 'x') + "\",\"sig\":\"" +
                                       std::string(128, '0') + "\"}"));
    co_await flooder->flush(2000ms);

    auto rejected = [&](const std::string& reason) {
      return metric(listener.get_metrics(), "stargate_inputs_rejected_total{reason=\"announcement_" + reason + "\"}");
    };
    CO_ASSERT_TRUE(co_await wait_until([&] {
      return rejected("rate_limited") + rejected("backoff") >= 27 && rejected("from_future") >= 1 &&
             rejected("bad_signature") >= 1 && rejected("too_large") >= 1;
    }, 10s));
    EXPECT_GE(rejected("rate_limited"), 5);
    EXPECT_GE(rejected("backoff"), 1);
    EXPECT_EQ(listener.get_status().peers_backed_off, 1u);

    // A normal announcer is still heard and discovered.
    co_await normal.start();
    auto peers = co_await listener.discover();
    bool found = false;
    for (const auto& p : peers) found = found || p.name == "rl-normal";
    EXPECT_TRUE(found);
    flooder->close();
    co_await normal.stop();
    co_await listener.stop();
  });
}

}  // namespace
}  // namespace stargate
