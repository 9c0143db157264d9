#include "p2p/tcp/interface_addrs.hpp"

#include "p2p/tcp/tcp_address.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace stargate::p2p {
namespace {

std::vector<asio::ip::address> interface_addresses(bool v6) {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* it = list; it; it = it->ifa_next) {
    if (!it->ifa_addr) continue;
    if (!v6 && it->ifa_addr->sa_family == AF_INET) {
      asio::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr, 4);
      out.emplace_back(asio::ip::address_v4(bytes));
    } else if (v6 && it->ifa_addr->sa_family == AF_INET6) {
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr, 16);
      asio::ip::address_v6 address(bytes);
      if (!address.is_link_local()) out.emplace_back(address);
    }
  }
  freeifaddrs(list);
  std::stable_partition(out.begin(), out.end(), [](const auto& a) { return !a.is_loopback(); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<Multiaddr> expand_unspecified(const Multiaddr& listen) {
  auto endpoint = to_tcp_endpoint(listen);
  if (!endpoint || !endpoint->address().is_unspecified()) return {listen};
  std::vector<Multiaddr> out;
  for (const auto& address : interface_addresses(endpoint->address().is_v6())) {
    out.push_back(to_multiaddr(tcp::endpoint(address, endpoint->port())));
  }
  return out;
}

}  // namespace stargate::p2p
