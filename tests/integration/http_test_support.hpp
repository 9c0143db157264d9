#pragma once
// A bare HTTP/1.1 client (Beast) for tests of the /metrics and /healthz endpoints.
#include "p2p/host/asio.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <string>
#include <string_view>

namespace stargate::testing::http_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using p2p::awaitable;
using p2p::tcp;
using p2p::use_awaitable;

struct Reply {
  unsigned status = 0;
  std::string content_type;
  std::string allow;
  std::string body;
  bool keep_alive = false;
};

inline std::string request(std::string_view method, std::string_view target, std::string_view extra_headers = {}) {
  return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) + "\r\n";
}

inline awaitable<tcp::socket> connect(tcp::endpoint endpoint) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(endpoint, use_awaitable);
  co_return socket;
}

// Sends `bytes` as they are and reads one response.
inline awaitable<Reply> exchange(tcp::socket& socket, beast::flat_buffer& buffer, std::string bytes) {
  co_await asio::async_write(socket, asio::buffer(bytes), use_awaitable);
  bhttp::response<bhttp::string_body> response;
  co_await bhttp::async_read(socket, buffer, response, use_awaitable);
  Reply reply;
  reply.status = response.result_int();
  reply.content_type = std::string(response[bhttp::field::content_type]);
  reply.allow = std::string(response[bhttp::field::allow]);
  reply.body = response.body();
  reply.keep_alive = response.keep_alive();
  co_return reply;
}

// One GET on a new connection.
inline awaitable<Reply> get(tcp::endpoint endpoint, std::string_view target) {
  auto socket = co_await connect(endpoint);
  beast::flat_buffer buffer;
  auto bytes = request("GET", target, "Connection: close\r\n");
  co_return co_await exchange(socket, buffer, std::move(bytes));
}

}  // namespace stargate::testing::http_client
