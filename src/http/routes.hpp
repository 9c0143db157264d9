#pragma once
// What the operators' endpoint answers, without sockets: GET /metrics (the Prometheus text),
// GET /healthz (200 "ok", or 503 with the reason), 404 for other paths, 405 (Allow: GET) for
// other methods. The query string is ignored.
#include <functional>
#include <string>
#include <string_view>

namespace stargate::http {

struct Health {
  bool ok = true;
  std::string reason;  // when not ok: one line, shown to whoever can reach the endpoint

  static Health healthy() { return {}; }
  static Health unhealthy(std::string reason) { return {false, std::move(reason)}; }
};
// Runs on the server's I/O thread for each /healthz request: keep it quick and non-blocking.
using HealthCheck = std::function<Health()>;

struct Routes {
  std::function<std::string()> metrics;  // the exposition text
  HealthCheck health;  // none: always healthy
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  bool close = false;  // end the connection after this response
};

Response route(std::string_view method, std::string_view target, const Routes& routes);

// A plain-text answer ending the connection (bad request, header too large, body refused).
Response refusal(unsigned status, std::string_view text);

}  // namespace stargate::http
