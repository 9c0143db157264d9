#include "http/listen_address.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

namespace stargate::http {

namespace {

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  throw std::invalid_argument("invalid listen address '" + std::string(text) + "': " + std::string(why) +
                              " (expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)");
}

}  // namespace

boost::asio::ip::tcp::endpoint parse_listen_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) bad(text, "no port");
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) bad(text, "bad port");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    bad(text, "an IPv6 address goes in brackets");
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code error;
  auto address = boost::asio::ip::make_address(std::string(host), error);
  if (error) bad(text, "not an IP address");
  return {address, static_cast<unsigned short>(port)};
}

}  // namespace stargate::http
