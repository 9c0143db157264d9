#include "http/metrics_server.hpp"

#include "base/fair_share.hpp"
#include "base/log.hpp"
#include "base/log_throttle.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace stargate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using asio::awaitable;
constexpr auto& use_awaitable = asio::use_awaitable;

namespace {

std::string to_string(const tcp::endpoint& endpoint) {
  std::ostringstream out;
  out << endpoint;  // [::1]:9464 for IPv6
  return out.str();
}

// The refusal for a request that failed to parse, or nothing when the connection just ended
// (closed, timed out, reset) and there is no one to answer.
std::optional<Response> refusal_for(const ErrorCode& ec) {
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
    return refusal(431, "request header fields too large");
  if (ec == bhttp::error::body_limit) return refusal(413, "request bodies are not accepted");
  if (ec.category() == ErrorCode(bhttp::error::end_of_stream).category() && ec != bhttp::error::end_of_stream &&
      ec != bhttp::error::partial_message)
    return refusal(400, "bad request");
  return std::nullopt;
}

// Unread input at close makes the kernel send a reset, which can destroy the refusal before the
// client reads it: after a refusal, stop sending and discard a bounded amount of input first.
awaitable<void> lingering_close(beast::tcp_stream& stream, std::chrono::milliseconds timeout) {
  ErrorCode ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(timeout);
  std::array<char, 4096> sink;
  for (std::size_t drained = 0; !ec && drained < 64 * 1024;)
    drained += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(use_awaitable, ec));
  stream.close();
}

}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::any_io_executor ex, Routes r, ServerConfig c)
      : executor(ex),
        routes(std::move(r)),
        config(c),
        acceptor(ex),
        slots({config.max_connections, config.max_connections_per_ip}) {}

  asio::any_io_executor executor;
  Routes routes;
  ServerConfig config;
  tcp::acceptor acceptor;
  bool stopped = false;
  FairShare slots;  // one per connection, by client IP
  std::unordered_map<std::uint64_t, beast::tcp_stream*> streams;  // being served, by slot
  LogThrottle refusal_log;

  void log_refusal(const std::string& what) {
    std::uint64_t suppressed = 0;
    if (!refusal_log.allow(std::chrono::steady_clock::now(), suppressed)) return;
    log::module<"http">()->info("metrics endpoint: {}{}", what,
                   suppressed ? " (" + std::to_string(suppressed) + " more not logged)" : std::string());
  }

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      ErrorCode ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopped) break;
      if (ec) {
        // Out of descriptors and the like: keep the listener, the condition may pass.
        log::module<"http">()->warn("metrics endpoint: accept failed: {}", ec.message());
        continue;
      }
      const auto address = socket.remote_endpoint(ec).address();
      const auto source = address.to_string();
      auto admission = slots.admit(source, !(address.is_loopback() && config.loopback_exempt));
      if (admission.refusal != FairShare::Refusal::none) {
        log_refusal("connection from " + source + " refused: " +
                    (admission.refusal == FairShare::Refusal::source_full ? "too many from this address"
                                                                          : "too many connections"));
        socket.close(ec);
        continue;
      }
      if (admission.evicted) {
        // Its IP held the most: its oldest connection makes room for this one.
        if (auto it = streams.find(*admission.evicted); it != streams.end()) it->second->close();
        log_refusal("connection from " + admission.evicted_source + " closed to make room for another client");
      }
      asio::co_spawn(executor, serve(std::move(socket), admission.id), asio::detached);
    }
  }

  // Keeps `streams` and the slots in step with the connections alive, however the coroutine ends.
  struct Registration {
    Impl& impl;
    std::uint64_t id;
    Registration(Impl& i, beast::tcp_stream& stream, std::uint64_t slot) : impl(i), id(slot) { impl.streams.emplace(id, &stream); }
    ~Registration() {
      impl.streams.erase(id);
      impl.slots.release(id);
    }
  };

  awaitable<void> serve(tcp::socket socket, std::uint64_t slot) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    Registration registration(*this, stream, slot);
    // Room for a full header and a pipelined request behind it; more is a header_limit error.
    beast::flat_buffer buffer(2 * config.max_header_bytes);
    for (;;) {
      bhttp::request_parser<bhttp::empty_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
      parser.body_limit(0);
      stream.expires_after(config.read_timeout);
      ErrorCode ec;
      co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (stopped) co_return;
      std::optional<Response> response;
      if (ec) {
        response = refusal_for(ec);
        if (!response) break;
      } else if (!parser.is_done()) {
        response = refusal(413, "request bodies are not accepted");  // chunked
      } else {
        const auto& request = parser.get();
        response = route(request.method_string(), request.target(), routes);
        if (!request.keep_alive()) response->close = true;
      }
      bool close = response->close;
      co_await send(stream, std::move(*response), parser.get().version(), ec);
      if (ec || stopped) co_return;
      if (close) {
        co_await lingering_close(stream, config.read_timeout);
        co_return;
      }
    }
    ErrorCode ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  awaitable<void> send(beast::tcp_stream& stream, Response response, unsigned version, ErrorCode& ec) {
    bhttp::response<bhttp::string_body> message(static_cast<bhttp::status>(response.status), version == 10 ? 10 : 11);
    message.set(bhttp::field::content_type, response.content_type);
    if (response.status == 405) message.set(bhttp::field::allow, "GET");
    message.keep_alive(!response.close);
    message.body() = std::move(response.body);
    message.prepare_payload();
    stream.expires_after(config.write_timeout);
    co_await bhttp::async_write(stream, message, asio::redirect_error(use_awaitable, ec));
  }

  void stop() {
    stopped = true;
    ErrorCode ignored;
    acceptor.close(ignored);
    for (auto& [id, stream] : streams) stream->close();
  }
};

MetricsServer::MetricsServer(asio::any_io_executor executor, const metrics::Registry& registry, HealthCheck health,
                             ServerConfig config) {
  Routes routes;
  routes.metrics = [&registry] { return registry.render(); };
  routes.health = std::move(health);
  impl_ = std::make_shared<Impl>(executor, std::move(routes), config);
}

MetricsServer::~MetricsServer() { stop(); }

tcp::endpoint MetricsServer::listen(std::string_view address) { return listen(parse_listen_address(address)); }

tcp::endpoint MetricsServer::listen(const tcp::endpoint& endpoint) {
  auto& acceptor = impl_->acceptor;
  if (acceptor.is_open() || impl_->stopped) throw std::logic_error("metrics endpoint: listen() called twice or after stop()");
  ErrorCode ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    throw std::runtime_error("cannot serve metrics on " + to_string(endpoint) + ": " + ec.message());
  }
  auto bound = acceptor.local_endpoint();
  log::module<"http">()->info("metrics endpoint on http://{}/metrics", to_string(bound));
  asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
  return bound;
}

std::size_t MetricsServer::connections() const { return impl_->streams.size(); }

void MetricsServer::stop() { impl_->stop(); }

}  // namespace stargate::http
