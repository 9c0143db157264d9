#pragma once
// "HOST:PORT" for the operators' HTTP endpoint: "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464"
// (every interface: an owner's explicit choice), "localhost:9464" (127.0.0.1). Port 0 asks the
// system for a free port. No name resolution: a listener must not wait on DNS.
#include <boost/asio/ip/tcp.hpp>

#include <string_view>

namespace stargate::http {

// Loopback: metrics tell a lot about a node, so exposing them is opt-in.
inline constexpr std::string_view kDefaultListenAddress = "127.0.0.1:9464";

// Throws std::invalid_argument naming the bad address.
boost::asio::ip::tcp::endpoint parse_listen_address(std::string_view text);

}  // namespace stargate::http
