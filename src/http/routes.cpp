#include "http/routes.hpp"

#include "metrics/text_format.hpp"

#include <exception>

namespace stargate::http {

namespace {

Response text(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body) + "\n";
  return r;
}

Response metrics_page(const Routes& routes) {
  Response r;
  r.content_type = std::string(metrics::kTextContentType);
  try {
    r.body = routes.metrics ? routes.metrics() : std::string();
  } catch (const std::exception& e) {
    r = text(500, std::string("cannot render metrics: ") + e.what());
  }
  return r;
}

Response health_page(const Routes& routes) {
  Health health;
  try {
    if (routes.health) health = routes.health();
  } catch (const std::exception& e) {
    health = Health::unhealthy(std::string("health check failed: ") + e.what());
  }
  if (health.ok) return text(200, "ok");
  return text(503, health.reason.empty() ? "unhealthy" : health.reason);
}

}  // namespace

Response route(std::string_view method, std::string_view target, const Routes& routes) {
  auto path = target.substr(0, target.find('?'));
  bool known = path == "/metrics" || path == "/healthz";
  if (!known) return text(404, "not found");
  if (method != "GET") return text(405, "method not allowed (only GET)");
  return path == "/metrics" ? metrics_page(routes) : health_page(routes);
}

Response refusal(unsigned status, std::string_view why) {
  auto r = text(status, std::string(why));
  r.close = true;
  return r;
}

}  // namespace stargate::http
