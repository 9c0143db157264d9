// The resource manager's protocol and service scopes between real hosts on loopback: streams over
// a service's limits are reset before their handler runs while other peers keep being served, and
// an A2A request whose memory does not fit is answered "rate limited" without being read.
#include "agent/a2a_io.hpp"
#include "agent/jsonrpc.hpp"
#include "host_test_support.hpp"

#include <boost/json.hpp>

namespace stargate::p2p {
namespace {

using namespace std::chrono_literals;
using stargate::testing::run_with_timeout;
using stargate::testing::wait_until;
using Node = stargate::testing::TestNode;

constexpr const char* kHold = "/test/hold/1";

std::size_t used(const ResourceUsage& usage, const std::string& scope, const std::string& name,
                 const std::string& resource) {
  for (const auto& s : usage.scopes) {
    if (s.scope != scope || s.name != name) continue;
    for (const auto& g : s.gauges)
      if (g.resource == resource) return g.used;
  }
  ADD_FAILURE() << "no gauge " << scope << "/" << name << "/" << resource;
  return 0;
}

// Opens a stream of kHold, waiting for the peer to agree to the protocol (a stream the peer's
// resource manager refuses is reset right after that).
awaitable<std::shared_ptr<MuxedStream>> open_and_probe(Host& host, const std::shared_ptr<MuxedConnection>& connection) {
  std::vector<std::string> protocols{kHold};
  co_return co_await host.open_stream(connection, protocols, true);
}

// Reads until the stream is reset (true) or `timeout` passes with the stream still open (false).
awaitable<bool> was_reset(std::shared_ptr<MuxedStream> stream, std::chrono::milliseconds timeout) {
  bool reset = false;
  MuxedStream* raw = stream.get();
  bool timed_out = false;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  timer.async_wait([raw, &timed_out](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      raw->close();
    }
  });
  Bytes buffer(16);
  try {
    while (co_await stream->read_some(buffer) > 0) {
    }
  } catch (const SystemError&) {
    reset = !timed_out;
  }
  timer.cancel();
  co_return reset;
}

TEST(ResourceScopesTest, ServiceLimitsResetExcessStreamsBeforeTheirHandlerRuns) {
  boost::asio::io_context io;
  HostConfig config;
  config.limits.services["hold"] = ScopeLimits{3, 2, kUnlimited};
  Node server(io, config), a(io), c(io);
  server.host.resources().set_service(kHold, "hold");
  auto handled = std::make_shared<std::size_t>(0);
  Signal release(io.get_executor());
  bool done = false;
  server.host.set_handler(kHold, [handled, &release, &done](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    ++*handled;
    // Held open until the test ends: the stream keeps its place in the service's scope.
    while (!done) co_await release.wait();
    stream->reset();
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto to_server = co_await a.host.connect(server.full_addr());
    auto first = co_await open_and_probe(a.host, to_server);
    auto second = co_await open_and_probe(a.host, to_server);
    EXPECT_TRUE(co_await wait_until([&] { return *handled == 2; }, 5s));
    // A third stream from the same peer is over the service's 2 per peer: reset, never handled.
    auto third = co_await open_and_probe(a.host, to_server);
    EXPECT_TRUE(co_await was_reset(third, 5s));
    EXPECT_EQ(*handled, 2u);
    // Another peer is still served...
    auto c_connection = co_await c.host.connect(server.full_addr());
    auto c_first = co_await open_and_probe(c.host, c_connection);
    EXPECT_TRUE(co_await wait_until([&] { return *handled == 3; }, 5s));
    // ...until the service's 3 streams in all are taken.
    auto c_second = co_await open_and_probe(c.host, c_connection);
    EXPECT_TRUE(co_await was_reset(c_second, 5s));
    auto usage = server.host.resource_usage();
    EXPECT_EQ(used(usage, "service", "hold", "streams"), 3u);
    EXPECT_EQ(used(usage, "service", "hold", "streams_per_peer"), 2u);
    EXPECT_EQ(used(usage, "protocol", kHold, "streams"), 3u);
    EXPECT_EQ(usage.refusals["service streams_per_peer"], 1u);
    EXPECT_EQ(usage.refusals["service streams"], 1u);
    // A stream that ends gives its place back: the peer may open another.
    first->reset();
    EXPECT_TRUE(co_await wait_until([&] { return used(server.host.resource_usage(), "service", "hold", "streams") == 2; }, 5s));
    auto again = co_await open_and_probe(a.host, to_server);
    EXPECT_TRUE(co_await wait_until([&] { return *handled == 4; }, 5s));
    // Streams of other protocols are not this service's business.
    std::vector<std::string> ping_protocol{"/ipfs/ping/1.0.0"};
    auto ping = co_await a.host.open_stream(to_server, ping_protocol, true);
    EXPECT_EQ(ping->protocol(), "/ipfs/ping/1.0.0");
    done = true;
    release.notify_all();
  });
}

TEST(ResourceScopesTest, OutboundStreamsAreCheckedBeforeTheyOpen) {
  boost::asio::io_context io;
  HostConfig config;
  config.limits.protocols[kHold] = ScopeLimits{1, 1, kUnlimited};
  Node a(io, config), server(io);
  server.host.set_handler(kHold, [](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    Bytes buffer(16);
    while (co_await stream->read_some(buffer) > 0) {
    }
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await a.host.connect(server.full_addr());
    auto first = co_await open_and_probe(a.host, connection);
    std::string error;
    try {
      co_await open_and_probe(a.host, connection);
    } catch (const ResourceLimitExceeded& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("protocol /test/hold/1 (limit 1)"), std::string::npos) << error;
    EXPECT_EQ(a.host.resources().usage().refusals["protocol streams"], 1u);
    // The refused stream was reset and gave its place back: only `first` is open.
    EXPECT_EQ(used(a.host.resource_usage(), "protocol", kHold, "streams"), 1u);
    first.reset();
    EXPECT_EQ(used(a.host.resource_usage(), "protocol", kHold, "streams"), 0u);
    auto second = co_await open_and_probe(a.host, connection);
    EXPECT_EQ(second->protocol(), kHold);
  });
}

TEST(ResourceScopesTest, A2aRequestOverTheServicesMemoryIsRefusedUnreadAndMemoryReturns) {
  boost::asio::io_context io;
  HostConfig config;
  config.limits.services["a2a"] = ScopeLimits{kUnlimited, kUnlimited, 1 * kMiB};
  Node callee(io, config), caller(io);
  auto handled = std::make_shared<std::size_t>(0);
  std::size_t memory_while_handling = 0;
  auto* callee_host = &callee.host;
  agent::enable_a2a(callee.host, [handled, callee_host, &memory_while_handling](std::string request, ConnectionInfo) -> awaitable<std::string> {
    ++*handled;
    memory_while_handling = used(callee_host->resource_usage(), "service", "a2a", "memory");
    auto parsed = boost::json::parse(request).as_object();
    co_return boost::json::serialize(boost::json::object{{"jsonrpc", "2.0"}, {"id", parsed.at("id")}, {"result", "ok"}});
  });
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await caller.host.connect(callee.full_addr());
    auto request = [](std::size_t size) {
      return boost::json::serialize(boost::json::object{
          {"jsonrpc", "2.0"}, {"id", 1}, {"method", "m"}, {"params", boost::json::array{std::string(size, 'x')}}});
    };
    // 2 MB does not fit the a2a service's 1 MiB: refused from the length prefix, handler not run.
    auto big = request(2'000'000);
    auto refused = boost::json::parse(co_await agent::a2a_round_trip(caller.host, connection, big)).as_object();
    EXPECT_EQ(refused.at("error").at("code").to_number<int>(), static_cast<int>(agent::ErrorCode::rate_limited));
    EXPECT_NE(std::string(refused.at("error").at("message").as_string()).find("service a2a"), std::string::npos)
        << boost::json::serialize(refused);
    EXPECT_TRUE(refused.at("error").at("data").as_object().contains("retry_after_ms"));
    EXPECT_EQ(*handled, 0u);
    // A request that fits is served, its memory held while its handler runs, then given back.
    auto small = request(100'000);
    auto answered = boost::json::parse(co_await agent::a2a_round_trip(caller.host, connection, small)).as_object();
    EXPECT_EQ(answered.at("result"), "ok");
    EXPECT_EQ(*handled, 1u);
    EXPECT_GE(memory_while_handling, small.size());
    EXPECT_TRUE(co_await wait_until([&] { return used(callee.host.resource_usage(), "service", "a2a", "memory") == 0; }, 5s));
    EXPECT_EQ(callee.host.resource_usage().refusals["service memory"], 1u);
  });
}

}  // namespace
}  // namespace stargate::p2p
