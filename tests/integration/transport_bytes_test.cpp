// Bytes in and out per transport (NodeStatus::*_bytes_*, stargate_transport_bytes_total): a call
// with a known payload moves both sides' counters by at least the payload and by less than a few
// times it, over a direct libp2p connection, through a relay (counted once, at the TCP socket) and
// through a real nats-server.
#include "agent_test_support.hpp"
#include "host_test_support.hpp"
#include "nats_server.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"

#include <sstream>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

constexpr std::uint64_t kPayload = 100'000;

struct Counts {
  std::uint64_t in = 0, out = 0;
};

Counts libp2p_of(const NodeStatus& s) { return {s.libp2p_bytes_in, s.libp2p_bytes_out}; }
Counts nats_of(const NodeStatus& s) { return {s.nats_bytes_in, s.nats_bytes_out}; }

// What moved between two readings.
Counts delta(Counts before, Counts after) { return {after.in - before.in, after.out - before.out}; }

// Each direction grew by at least the payload and by less than `factor` times it.
void expect_grew(const char* who, Counts moved, double factor = 3) {
  const auto upper = static_cast<std::uint64_t>(factor * static_cast<double>(kPayload));
  EXPECT_GE(moved.in, kPayload) << who << " in";
  EXPECT_LT(moved.in, upper) << who << " in";
  EXPECT_GE(moved.out, kPayload) << who << " out";
  EXPECT_LT(moved.out, upper) << who << " out";
}

// The value of `series` (name and labels, as exposed) in Prometheus text, or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::string series(const char* transport, const char* direction) {
  return std::string("stargate_transport_bytes_total{transport=\"") + transport + "\",direction=\"" + direction + "\"}";
}

json::value big_params() { return json::object{{"blob", std::string(kPayload, 'q')}}; }

class TransportBytesTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

TEST_F(TransportBytesTest, ADirectLibp2pCallCountsThePayloadBothWaysOnBothSides) {
  StarGateNode a(io.get_executor(), p2p_agent("bytes-a"));
  StarGateNode b(io.get_executor(), p2p_agent("bytes-b"));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    auto target = b.get_status().addresses.front();
    // The connection (handshakes, identify) first, so that what follows is the call alone.
    json::value small = json::object{{"warm", 1}};
    co_await a.call(target, "echo", small);
    EXPECT_GT(a.get_status().libp2p_bytes_out, 0u);
    auto a_before = libp2p_of(a.get_status());
    auto b_before = libp2p_of(b.get_status());
    auto result = co_await a.call(target, "echo", big_params());
    EXPECT_EQ(result.at("echo").at("blob").as_string().size(), kPayload);
    auto a_status = a.get_status();
    expect_grew("caller", delta(a_before, libp2p_of(a_status)));
    expect_grew("callee", delta(b_before, libp2p_of(b.get_status())));
    // No broker: nothing on NATS.
    EXPECT_EQ(a_status.nats_bytes_in + a_status.nats_bytes_out, 0u);
    // The collector exports what the status says (nothing moves in between: one thread).
    auto text = a.get_metrics();
    EXPECT_EQ(sample(text, series("libp2p", "in")), static_cast<double>(a_status.libp2p_bytes_in)) << text;
    EXPECT_EQ(sample(text, series("libp2p", "out")), static_cast<double>(a_status.libp2p_bytes_out)) << text;
    EXPECT_EQ(sample(text, series("nats", "in")), 0);
    EXPECT_EQ(sample(text, series("nats", "out")), 0);
    EXPECT_NE(text.find("# TYPE stargate_transport_bytes_total counter"), std::string::npos);
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_F(TransportBytesTest, ARelayedCallCountsOnceAtTheTcpSocketToTheRelay) {
  TestNode relay(io);
  p2p::relay::RelayServiceOptions relay_options;
  relay_options.limits = p2p::relay::RelayLimits::private_relay();  // no per-circuit byte limit
  auto service = p2p::relay::RelayService::enable(relay.host, relay_options);
  auto b_options = p2p_agent("bytes-relayed-b", {});
  b_options.relays = {relay.full_addr().to_string()};
  StarGateNode b(io.get_executor(), b_options);
  StarGateNode a(io.get_executor(), p2p_agent("bytes-relayed-a", {}));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    CO_ASSERT_TRUE(co_await wait_until([&] { return !b.get_status().addresses.empty(); }, 10s));
    auto circuit = b.get_status().addresses.front();
    CO_ASSERT_TRUE(circuit.find("/p2p-circuit/") != std::string::npos);
    json::value small = json::object{{"warm", 1}};
    co_await a.call(circuit, "echo", small);
    // B then tries to hole-punch (and gives up: neither side listens): let that pass first.
    co_await wait_until([&] { return !b.get_status().hole_punch_failures.empty(); }, 3s);
    auto a_before = libp2p_of(a.get_status());
    auto b_before = libp2p_of(b.get_status());
    auto relay_before = relay.host.traffic();
    co_await a.call(circuit, "echo", big_params());
    auto a_status = a.get_status();
    CO_ASSERT_TRUE(a_status.calls_ok_relayed == 2);
    // Counted twice (circuit and TCP), each side would show at least twice the payload.
    expect_grew("caller", delta(a_before, libp2p_of(a_status)), 2);
    expect_grew("callee", delta(b_before, libp2p_of(b.get_status())), 2);
    // The relay takes the request in from A and the response from B, and sends both on.
    auto relay_after = relay.host.traffic();
    auto relay_moved = delta({relay_before.bytes_in, relay_before.bytes_out}, {relay_after.bytes_in, relay_after.bytes_out});
    EXPECT_GE(relay_moved.in, 2 * kPayload);
    EXPECT_LT(relay_moved.in, 3 * kPayload);
    EXPECT_GE(relay_moved.out, 2 * kPayload);
    EXPECT_LT(relay_moved.out, 3 * kPayload);
    EXPECT_GE(service->counters().bytes_relayed, 2 * kPayload);
    co_await a.stop();
    co_await b.stop();
  });
}

TEST_F(TransportBytesTest, ANatsCallCountsThePayloadBothWaysOnBothSides) {
  auto server = NatsServer::start();
  // No libp2p address: calls go through the broker.
  StarGateNode a(io.get_executor(), p2p_agent_with_nats("bytes-nats-a", server.url(), {}));
  StarGateNode b(io.get_executor(), p2p_agent_with_nats("bytes-nats-b", server.url(), {}));
  b.handle("echo", echo_handler());
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.start();
    co_await b.start();
    co_await a.discover();
    CallOptions via_nats;
    via_nats.via = Via::nats;
    // The Noise IK session is set up by the first call; measure the second.
    json::value small = json::object{{"warm", 1}};
    co_await a.call(b.agent_id(), "echo", small, via_nats);
    EXPECT_GT(a.get_status().nats_bytes_out, 0u);
    auto a_before = nats_of(a.get_status());
    auto b_before = nats_of(b.get_status());
    auto result = co_await a.call(b.agent_id(), "echo", big_params(), via_nats);
    EXPECT_EQ(result.at("echo").at("blob").as_string().size(), kPayload);
    auto a_status = a.get_status();
    EXPECT_EQ(a_status.calls_ok_nats, 2u);
    expect_grew("caller", delta(a_before, nats_of(a_status)));
    expect_grew("callee", delta(b_before, nats_of(b.get_status())));
    auto text = a.get_metrics();
    EXPECT_EQ(sample(text, series("nats", "in")), static_cast<double>(a_status.nats_bytes_in)) << text;
    EXPECT_EQ(sample(text, series("nats", "out")), static_cast<double>(a_status.nats_bytes_out)) << text;
    co_await a.stop();
    co_await b.stop();
    // Still readable once stopped.
    EXPECT_GE(a.get_status().nats_bytes_out, a_status.nats_bytes_out);
  });
}

}  // namespace
}  // namespace stargate
