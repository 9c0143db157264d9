#pragma once
// TCP transport: a ByteStream over a socket, plus listen and dial with the socket options that
// later let a node dial out from its listen port (SO_REUSEADDR + SO_REUSEPORT, needed for TCP
// hole punching).
#include "p2p/host/byte_stream.hpp"
#include "p2p/tcp/byte_counters.hpp"

#include <memory>
#include <optional>

namespace stargate::p2p {

class TcpStream final : public ByteStream {
 public:
  // `counters`: where this socket's bytes are added up (none: a counter of its own).
  explicit TcpStream(tcp::socket socket, std::shared_ptr<ByteCounters> counters = nullptr);

  awaitable<void> write_all(BytesView data) override;
  awaitable<void> close_write() override;
  void reset() override;
  void close() override;

  tcp::socket& socket() { return socket_; }
  const tcp::endpoint& local_endpoint() const { return local_; }
  const tcp::endpoint& remote_endpoint() const { return remote_; }
  const ByteCounters& counters() const { return *counters_; }

 protected:
  awaitable<std::size_t> read_some_raw(MutableBytesView buffer) override;

 private:
  tcp::socket socket_;
  tcp::endpoint local_;
  tcp::endpoint remote_;
  std::shared_ptr<ByteCounters> counters_;
};

// Opens a listening socket with SO_REUSEADDR and SO_REUSEPORT. Port 0 picks a free port:
// read it back from local_endpoint().
tcp::acceptor listen_tcp(asio::any_io_executor executor, const tcp::endpoint& endpoint, int backlog = 1024);

// Connects to `remote`. With `bind_to`, the socket is bound there first (with SO_REUSEADDR and
// SO_REUSEPORT) so that the connection leaves from the node's listen port.
awaitable<tcp::socket> dial_tcp(tcp::endpoint remote, std::optional<tcp::endpoint> bind_to = std::nullopt);

// Binds an open socket to `local` (the node's listen endpoint) with SO_REUSEADDR and SO_REUSEPORT,
// so that it can dial out from the port the node listens on.
void bind_to_listen_port(tcp::socket& socket, const tcp::endpoint& local);

// TCP_NODELAY: libp2p traffic is request/response; Nagle would add up to 40 ms per round trip.
void tune_socket(tcp::socket& socket);

}  // namespace stargate::p2p
