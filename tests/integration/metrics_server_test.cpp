// The operators' HTTP endpoint against real sockets on loopback: scraping, health, errors, and
// hostile clients (oversized headers, bodies, idle and surplus connections).
#include "http/metrics_server.hpp"

#include "metrics/registry.hpp"
#include "http_test_support.hpp"
#include "test_support.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace stargate::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using p2p::awaitable;
using p2p::tcp;
using p2p::use_awaitable;
using ErrorCode = boost::system::error_code;
using stargate::testing::run_with_timeout;
using namespace stargate::testing::http_client;

// "503 every relay is down\n": status and body in one comparable line.
std::string summary(const Reply& reply) { return std::to_string(reply.status) + " " + reply.body; }

// One client connection, kept alive across requests.
struct Client {
  tcp::socket socket;
  beast::flat_buffer buffer;

  awaitable<Reply> send(std::string bytes) { return exchange(socket, buffer, std::move(bytes)); }
  awaitable<Reply> get(std::string_view target) { return send(request("GET", target)); }
};

awaitable<Client> open(tcp::endpoint endpoint) {
  auto socket = co_await connect(endpoint);  // not inside a braced list: g++ 12 mishandles that
  co_return Client{std::move(socket), {}};
}

// Reads until the server ends the connection; returns how it ended (eof, or a reset).
awaitable<ErrorCode> wait_closed(tcp::socket& socket) {
  std::array<char, 512> sink;
  ErrorCode ec;
  while (!ec) co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(use_awaitable, ec));
  co_return ec;
}

// Sends `bytes` on a new connection and expects the refusal `status`, then the server's orderly
// close (an end of stream, not a reset: the refusal must reach the client).
awaitable<void> expect_refusal(tcp::endpoint endpoint, std::string bytes, unsigned status) {
  auto client = co_await open(endpoint);
  auto refused = co_await client.send(std::move(bytes));
  EXPECT_EQ(refused.status, status);
  EXPECT_FALSE(refused.keep_alive);
  auto end = co_await wait_closed(client.socket);
  EXPECT_EQ(end, asio::error::eof) << end.message();
}

// Lets the server's pending completions run until `done` holds (bounded by the test's timeout).
template <class Condition>
awaitable<void> until(Condition done) {
  while (!done()) co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void start(ServerConfig config = {}) {
    server_ = std::make_unique<MetricsServer>(io_.get_executor(), registry_, [this] { return health_; }, config);
    endpoint_ = server_->listen("127.0.0.1:0");
  }
  void run(std::function<awaitable<void>()> body) { run_with_timeout(io_, std::move(body), std::chrono::seconds(20)); }

  asio::io_context io_;
  metrics::Registry registry_;
  Health health_;
  std::unique_ptr<MetricsServer> server_;
  tcp::endpoint endpoint_;
};

TEST_F(MetricsServerTest, ListensOnTheAskedLoopbackAddressAndReportsThePort) {
  start();
  EXPECT_EQ(endpoint_.address().to_string(), "127.0.0.1");
  EXPECT_NE(endpoint_.port(), 0);
  EXPECT_THROW(server_->listen("127.0.0.1:0"), std::logic_error);
  MetricsServer clash(io_.get_executor(), registry_);
  EXPECT_THROW(clash.listen(endpoint_), std::runtime_error);
}

TEST_F(MetricsServerTest, ScrapeReturnsTheExpositionOverKeptAliveConnection) {
  auto& ok = registry_.counter_family("stargate_calls", "Calls by tier and outcome", {"tier", "outcome"}).with({"nats", "ok"});
  ok.inc(3);
  start();
  run([&]() -> awaitable<void> {
    auto client = co_await open(endpoint_);
    auto first = co_await client.get("/metrics");
    EXPECT_EQ(first.status, 200u);
    EXPECT_EQ(first.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(first.body,
              "# HELP stargate_calls_total Calls by tier and outcome\n"
              "# TYPE stargate_calls_total counter\n"
              "stargate_calls_total{tier=\"nats\",outcome=\"ok\"} 3\n");
    EXPECT_TRUE(first.keep_alive);
    ok.inc();
    auto second = co_await client.get("/metrics");
    EXPECT_NE(second.body.find("stargate_calls_total{tier=\"nats\",outcome=\"ok\"} 4\n"), std::string::npos) << second.body;
    EXPECT_EQ(server_->connections(), 1u);
  });
}

TEST_F(MetricsServerTest, HealthzAnswers200Or503WithTheReason) {
  start();
  run([&]() -> awaitable<void> {
    auto client = co_await open(endpoint_);
    EXPECT_EQ(summary(co_await client.get("/healthz")), "200 ok\n");
    health_ = Health::unhealthy("every relay is down");
    EXPECT_EQ(summary(co_await client.get("/healthz")), "503 every relay is down\n");
    health_ = Health::healthy();
    EXPECT_EQ(summary(co_await client.get("/healthz")), "200 ok\n");
  });
}

TEST_F(MetricsServerTest, UnknownPathIs404AndOtherMethods405) {
  start();
  run([&]() -> awaitable<void> {
    auto client = co_await open(endpoint_);
    EXPECT_EQ((co_await client.get("/admin")).status, 404u);
    auto wrong_method = co_await client.send(request("DELETE", "/metrics"));
    EXPECT_EQ(wrong_method.status, 405u);
    EXPECT_EQ(wrong_method.allow, "GET");
    // Neither ends the connection.
    EXPECT_EQ((co_await client.get("/healthz")).status, 200u);
  });
}

TEST_F(MetricsServerTest, RequestBodiesAreRefusedAndTheConnectionClosed) {
  start();
  run([&]() -> awaitable<void> {
    const std::string bodies[] = {request("POST", "/metrics", "Content-Length: 5\r\n") + "hello",
                                  request("POST", "/metrics", "Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n"};
    for (const auto& bytes : bodies) co_await expect_refusal(endpoint_, bytes, 413);
  });
}

TEST_F(MetricsServerTest, MalformedRequestIs400AndClosed) {
  start();
  run([&]() -> awaitable<void> {
    co_await expect_refusal(endpoint_, "GET /metrics NOT-HTTP\r\n\r\n", 400);
  });
}

TEST_F(MetricsServerTest, OversizedHeaderIsRefusedAndTheServerKeepsServing) {
  start();
  run([&]() -> awaitable<void> {
    co_await expect_refusal(endpoint_, request("GET", "/metrics", "X-Padding: " + std::string(16 * 1024, 'a') + "\r\n"), 431);

    auto next = co_await open(endpoint_);
    EXPECT_EQ((co_await next.get("/healthz")).status, 200u);
    // A header just under the limit is served.
    auto fits = co_await next.send(request("GET", "/healthz", "X-Padding: " + std::string(7 * 1024, 'a') + "\r\n"));
    EXPECT_EQ(fits.status, 200u);
  });
}

TEST_F(MetricsServerTest, AConnectionBeyondTheCapTakesTheOldestSlotOfItsAddress) {
  ServerConfig config;
  config.max_connections = 2;
  start(config);
  run([&]() -> awaitable<void> {
    auto a = co_await open(endpoint_);
    auto b = co_await open(endpoint_);
    EXPECT_EQ((co_await a.get("/healthz")).status, 200u);
    EXPECT_EQ((co_await b.get("/healthz")).status, 200u);
    EXPECT_EQ(server_->connections(), 2u);

    // Full, one address: the newcomer is served and the oldest connection (a) is closed.
    auto c = co_await open(endpoint_);
    EXPECT_EQ((co_await c.get("/healthz")).status, 200u);
    auto end = co_await wait_closed(a.socket);
    EXPECT_TRUE(end == asio::error::eof || end == asio::error::connection_reset) << end.message();
    co_await until([&] { return server_->connections() == 2; });
    EXPECT_EQ((co_await b.get("/metrics")).status, 200u);
    EXPECT_EQ((co_await c.get("/metrics")).status, 200u);
  });
}

TEST_F(MetricsServerTest, IdleSocketsCannotLockAScraperOut) {
  // The attack of issue 13: every slot taken by sockets that never send a request.
  start();
  run([&]() -> awaitable<void> {
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 64; ++i) idle.push_back(co_await connect(endpoint_));
    co_await until([&] { return server_->connections() == 64; });
    auto scraper = co_await open(endpoint_);
    auto reply = co_await scraper.get("/metrics");
    EXPECT_EQ(reply.status, 200u);
    EXPECT_LE(server_->connections(), 64u);
    // The idle socket that gave way was the oldest one.
    auto end = co_await wait_closed(idle.front());
    EXPECT_TRUE(end == asio::error::eof || end == asio::error::connection_reset) << end.message();
  });
}

TEST_F(MetricsServerTest, OneAddressHoldsAtMostItsShareWhenLoopbackIsNotExempt) {
  ServerConfig config;
  config.max_connections = 8;
  config.max_connections_per_ip = 2;
  config.loopback_exempt = false;
  start(config);
  run([&]() -> awaitable<void> {
    auto a = co_await open(endpoint_);
    auto b = co_await open(endpoint_);
    EXPECT_EQ((co_await a.get("/healthz")).status, 200u);
    EXPECT_EQ((co_await b.get("/healthz")).status, 200u);
    auto surplus = co_await connect(endpoint_);
    auto end = co_await wait_closed(surplus);
    EXPECT_TRUE(end == asio::error::eof || end == asio::error::connection_reset) << end.message();
    // Another address (127.0.0.2 is loopback too, but counted apart) still gets in.
    tcp::socket other(co_await asio::this_coro::executor);
    other.open(tcp::v4());
    other.bind(tcp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
    co_await other.async_connect(endpoint_, use_awaitable);
    Client client{std::move(other), {}};
    EXPECT_EQ((co_await client.get("/healthz")).status, 200u);
    EXPECT_EQ(server_->connections(), 3u);
  });
}

TEST_F(MetricsServerTest, IdleAndSlowConnectionsAreClosedAfterTheReadTimeout) {
  ServerConfig config;
  config.read_timeout = std::chrono::milliseconds(200);
  start(config);
  run([&]() -> awaitable<void> {
    // Idle after a kept-alive request.
    auto idle = co_await open(endpoint_);
    EXPECT_EQ((co_await idle.get("/healthz")).status, 200u);
    auto since = std::chrono::steady_clock::now();
    auto end = co_await wait_closed(idle.socket);
    EXPECT_EQ(end, asio::error::eof) << end.message();
    EXPECT_GE(std::chrono::steady_clock::now() - since, std::chrono::milliseconds(150));

    // A request that never finishes its header.
    auto slow = co_await connect(endpoint_);
    std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    co_await asio::async_write(slow, asio::buffer(partial), use_awaitable);
    end = co_await wait_closed(slow);
    EXPECT_TRUE(end == asio::error::eof || end == asio::error::connection_reset) << end.message();
    co_await until([&] { return server_->connections() == 0; });
  });
}

TEST_F(MetricsServerTest, StopClosesTheListenerAndEveryConnection) {
  start();
  run([&]() -> awaitable<void> {
    auto client = co_await open(endpoint_);
    EXPECT_EQ((co_await client.get("/healthz")).status, 200u);
    server_->stop();
    auto end = co_await wait_closed(client.socket);
    EXPECT_TRUE(end == asio::error::eof || end == asio::error::connection_reset) << end.message();
    tcp::socket late(co_await asio::this_coro::executor);
    ErrorCode ec;
    co_await late.async_connect(endpoint_, asio::redirect_error(use_awaitable, ec));
    EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
    co_await until([&] { return server_->connections() == 0; });
  });
}

}  // namespace
}  // namespace stargate::http
