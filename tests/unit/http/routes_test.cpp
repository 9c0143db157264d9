#include "http/routes.hpp"

#include "http/listen_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace stargate::http {
namespace {

Routes sample_routes(Health health) {
  Routes routes;
  routes.metrics = [] { return std::string("# TYPE x counter\nx_total 1\n"); };
  routes.health = [health] { return health; };
  return routes;
}

TEST(RoutesTest, MetricsIsThePrometheusText) {
  auto r = route("GET", "/metrics", sample_routes(Health::healthy()));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "# TYPE x counter\nx_total 1\n");
  EXPECT_FALSE(r.close);
  EXPECT_EQ(route("GET", "/metrics?name[]=x", sample_routes(Health::healthy())).status, 200u);
}

TEST(RoutesTest, HealthzSaysOkOrWhyNot) {
  auto ok = route("GET", "/healthz", sample_routes(Health::healthy()));
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.body, "ok\n");
  auto bad = route("GET", "/healthz", sample_routes(Health::unhealthy("every relay is down")));
  EXPECT_EQ(bad.status, 503u);
  EXPECT_EQ(bad.body, "every relay is down\n");
  EXPECT_EQ(route("GET", "/healthz", Routes{}).status, 200u);  // no check: healthy
}

TEST(RoutesTest, FailingCallbacksAnswer500And503) {
  Routes routes;
  routes.metrics = []() -> std::string { throw std::runtime_error("boom"); };
  routes.health = []() -> Health { throw std::runtime_error("stuck"); };
  EXPECT_EQ(route("GET", "/metrics", routes).status, 500u);
  auto health = route("GET", "/healthz", routes);
  EXPECT_EQ(health.status, 503u);
  EXPECT_EQ(health.body, "health check failed: stuck\n");
}

TEST(RoutesTest, OtherPathsAre404AndOtherMethods405) {
  auto routes = sample_routes(Health::healthy());
  EXPECT_EQ(route("GET", "/", routes).status, 404u);
  EXPECT_EQ(route("GET", "/metrics/", routes).status, 404u);
  EXPECT_EQ(route("POST", "/nothing", routes).status, 404u);
  EXPECT_EQ(route("POST", "/metrics", routes).status, 405u);
  EXPECT_EQ(route("DELETE", "/healthz", routes).status, 405u);
}

TEST(RoutesTest, RefusalsCloseTheConnection) {
  auto r = refusal(431, "too large");
  EXPECT_EQ(r.status, 431u);
  EXPECT_TRUE(r.close);
}

TEST(ListenAddressTest, ParsesHostAndPort) {
  auto a = parse_listen_address("127.0.0.1:9464");
  EXPECT_EQ(a.address().to_string(), "127.0.0.1");
  EXPECT_EQ(a.port(), 9464);
  auto b = parse_listen_address("[::1]:0");
  EXPECT_TRUE(b.address().is_v6());
  EXPECT_EQ(b.port(), 0);
  EXPECT_EQ(parse_listen_address("localhost:80").address().to_string(), "127.0.0.1");
  EXPECT_EQ(parse_listen_address("0.0.0.0:1").address().to_string(), "0.0.0.0");
  EXPECT_TRUE(parse_listen_address(kDefaultListenAddress).address().is_loopback());
}

TEST(ListenAddressTest, RefusesMalformedAddresses) {
  for (const char* text : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:9x", "::1:80",
                           "example.com:80", ":80", "[::1:80"})
    EXPECT_THROW(parse_listen_address(text), std::invalid_argument) << text;
}

}  // namespace
}  // namespace stargate::http
