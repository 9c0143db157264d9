#include "p2p/tcp/tcp_address.hpp"

#include "base/endian.hpp"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstring>
#include <stdexcept>

namespace stargate::p2p {
namespace {

std::uint16_t port_of(const MultiaddrComponent& c) {
  if (c.value.size() < 2) throw std::out_of_range("multiaddr: /tcp/ value shorter than a port");
  return load_be16(c.value.data());
}

struct HostPort {
  const MultiaddrComponent* host = nullptr;
  std::uint16_t port = 0;
};

Result<HostPort> split_host_port(const Multiaddr& addr) {
  const auto& parts = addr.components();
  if (parts.size() < 2) return make_error("multiaddr " + addr.to_string() + " is not a TCP address");
  for (std::size_t i = 2; i < parts.size(); ++i) {
    if (parts[i].protocol != Protocol::p2p || i + 1 != parts.size())
      return make_error("multiaddr " + addr.to_string() + " is not a plain TCP address");
  }
  if (parts[1].protocol != Protocol::tcp) return make_error("multiaddr " + addr.to_string() + " has no /tcp/ port");
  return HostPort{&parts[0], port_of(parts[1])};
}

}  // namespace

Result<tcp::endpoint> to_tcp_endpoint(const Multiaddr& addr) {
  auto hp = split_host_port(addr);
  if (!hp) return hp.error();
  const auto& host = *hp->host;
  if (host.protocol == Protocol::ip4) {
    asio::ip::address_v4::bytes_type raw;
    std::memcpy(raw.data(), host.value.data(), raw.size());
    return tcp::endpoint(asio::ip::address_v4(raw), hp->port);
  }
  if (host.protocol == Protocol::ip6) {
    asio::ip::address_v6::bytes_type raw;
    std::memcpy(raw.data(), host.value.data(), raw.size());
    return tcp::endpoint(asio::ip::address_v6(raw), hp->port);
  }
  return make_error("multiaddr " + addr.to_string() + " needs DNS resolution");
}

Multiaddr to_multiaddr(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  std::string text = address.is_v4() ? "/ip4/" + address.to_string() : "/ip6/" + address.to_v6().to_string();
  text += "/tcp/" + std::to_string(endpoint.port());
  return Multiaddr::parse(text).value();
}

awaitable<std::vector<tcp::endpoint>> resolve_tcp(const Multiaddr& addr) {
  if (auto direct = to_tcp_endpoint(addr)) co_return std::vector<tcp::endpoint>{*direct};
  auto hp = split_host_port(addr);
  if (!hp) throw ErrorException(hp.error().message);
  const auto& host = *hp->host;
  if (host.protocol != Protocol::dns && host.protocol != Protocol::dns4 && host.protocol != Protocol::dns6)
    throw ErrorException("multiaddr " + addr.to_string() + ": cannot dial " + addr.to_string() + " over TCP");
  tcp::resolver resolver(co_await asio::this_coro::executor);
  std::string name(as_string(host.value));
  auto results = co_await resolver.async_resolve(name, std::to_string(hp->port), use_awaitable);
  std::vector<tcp::endpoint> out;
  for (const auto& entry : results) {
    auto ep = entry.endpoint();
    if (host.protocol == Protocol::dns4 && !ep.address().is_v4()) continue;
    if (host.protocol == Protocol::dns6 && !ep.address().is_v6()) continue;
    out.push_back(ep);
  }
  if (out.empty()) throw ErrorException("multiaddr " + addr.to_string() + ": no address found for " + name);
  co_return out;
}

bool is_loopback(const asio::ip::address& address) { return address.is_loopback(); }

}  // namespace stargate::p2p
