#pragma once
// The Asio names the p2p I/O layer uses: the generic ones of base/asio_io.hpp (shared with the NATS
// client), and TCP.
#include "base/asio_io.hpp"

#include <boost/asio/ip/tcp.hpp>

namespace stargate::p2p {

namespace asio = boost::asio;
using io::awaitable;
using io::Clock;
using io::SystemError;
using io::use_awaitable;
using tcp = asio::ip::tcp;

}  // namespace stargate::p2p
