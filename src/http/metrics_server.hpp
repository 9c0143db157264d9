#pragma once
// A small HTTP/1.1 server for operators: GET /metrics (Prometheus text format 0.0.4) and
// GET /healthz (routes.hpp). Bound to loopback unless told otherwise (listen_address.hpp).
//
//   http::MetricsServer server(io.get_executor(), registry, [&] { return http::Health::healthy(); });
//   auto bound = server.listen("127.0.0.1:9464");   // port 0: see bound.port()
//
// Built for hostile clients: a request header is at most `max_header_bytes` (431 beyond),
// requests with a body are refused (413) and the connection closed, each request must arrive
// within `read_timeout` (which also ends idle keep-alive connections), and connections are shared
// fairly among client IPs (base/fair_share.hpp): one IP holds at most `max_connections_per_ip`,
// and past `max_connections` a new connection takes the slot of the oldest connection of the IP
// holding the most (its own IP's oldest when that is the busiest), so idle sockets cannot lock
// the endpoint: a scraper's connection gets in. No thread of its own: it runs on the
// executor it is given, which must be single-threaded (one io_context per node); call stop()
// and the destructor from that thread. The registry must outlive the server.
#include "http/listen_address.hpp"
#include "http/routes.hpp"
#include "metrics/registry.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

namespace stargate::http {

struct ServerConfig {
  std::size_t max_header_bytes = 8 * 1024;
  std::chrono::milliseconds read_timeout = std::chrono::seconds(5);  // per request, from its first byte's wait
  std::chrono::milliseconds write_timeout = std::chrono::seconds(10);
  std::size_t max_connections = 64;
  std::size_t max_connections_per_ip = 8;
  // Loopback clients are exempt from the per-IP cap (the endpoint listens on loopback by default,
  // where every client has the same address); they still share the slots fairly.
  bool loopback_exempt = true;
};

class MetricsServer {
 public:
  MetricsServer(boost::asio::any_io_executor executor, const metrics::Registry& registry, HealthCheck health = {},
                ServerConfig config = {});
  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and starts accepting; returns the bound address (with the real port when 0 was asked).
  // Throws std::invalid_argument for a bad address, std::runtime_error when it cannot bind,
  // std::logic_error when already listening.
  boost::asio::ip::tcp::endpoint listen(std::string_view address = kDefaultListenAddress);
  boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& endpoint);

  // Connections being served now.
  std::size_t connections() const;
  // Closes the listener and every connection; idempotent.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace stargate::http
