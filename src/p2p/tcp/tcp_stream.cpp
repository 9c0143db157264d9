#include "p2p/tcp/tcp_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

namespace stargate::p2p {
namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

}  // namespace

void bind_to_listen_port(tcp::socket& socket, const tcp::endpoint& local) {
  socket.set_option(asio::socket_base::reuse_address(true));
  socket.set_option(reuse_port(true));
  socket.bind(local);
}

void tune_socket(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
}

TcpStream::TcpStream(tcp::socket socket, std::shared_ptr<ByteCounters> counters)
    : socket_(std::move(socket)), counters_(counters ? std::move(counters) : std::make_shared<ByteCounters>()) {
  boost::system::error_code ec;
  local_ = socket_.local_endpoint(ec);
  remote_ = socket_.remote_endpoint(ec);
  tune_socket(socket_);
}

awaitable<std::size_t> TcpStream::read_some_raw(MutableBytesView buffer) {
  boost::system::error_code ec;
  std::size_t n = co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                   asio::redirect_error(use_awaitable, ec));
  counters_->bytes_in += n;
  if (ec == asio::error::eof) co_return 0;
  if (ec) throw SystemError(ec);
  co_return n;
}

awaitable<void> TcpStream::write_all(BytesView data) {
  boost::system::error_code ec;
  std::size_t n = co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()),
                                             asio::redirect_error(use_awaitable, ec));
  counters_->bytes_out += n;  // what the kernel took, also when the write failed midway
  if (ec) throw SystemError(ec);
}

awaitable<void> TcpStream::close_write() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}

void TcpStream::reset() {
  boost::system::error_code ignored;
  // Linger 0 makes close() send RST, so the peer learns at once that the stream was aborted.
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

void TcpStream::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

tcp::acceptor listen_tcp(asio::any_io_executor executor, const tcp::endpoint& endpoint, int backlog) {
  tcp::acceptor acceptor(executor);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.set_option(reuse_port(true));
  if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
  acceptor.bind(endpoint);
  acceptor.listen(backlog);
  return acceptor;
}

awaitable<tcp::socket> dial_tcp(tcp::endpoint remote, std::optional<tcp::endpoint> bind_to) {
  tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(remote.protocol());
  if (bind_to) bind_to_listen_port(socket, *bind_to);
  co_await socket.async_connect(remote, use_awaitable);
  tune_socket(socket);
  co_return socket;
}

}  // namespace stargate::p2p
