#pragma once
// Which addresses are public: worth an AutoNAT probe, evidence for NAT classification. Loopback,
// private (RFC 1918, fc00::/7), link-local, CGNAT (100.64.0.0/10), documentation, benchmarking,
// multicast and reserved ranges are not, as in go-multiaddr's manet.IsPublicAddr and js-libp2p.
// Ranges in `treat_as_public` count as public anyway: the NAT lab uses documentation ranges as
// its "internet", and loopback tests use 127.0.0.0/8 (STARGATE_TREAT_AS_PUBLIC, p2p.treat_as_public).
// Sans-IO: plain bytes, no sockets.
#include "base/multiaddr.hpp"
#include "base/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::autonat {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  std::string to_string() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// The IP of an address starting /ip4/ or /ip6/ (an IPv4-mapped IPv6 address as the IPv4 one).
std::optional<IpAddress> ip_of(const Multiaddr& addr);
// The port of /ip4|ip6/A/tcp/P[/p2p/ID]; none for anything else (circuits, other transports).
std::optional<std::uint16_t> tcp_port_of(const Multiaddr& addr);

struct Cidr {
  IpAddress network;
  unsigned prefix = 0;
  // "198.51.100.0/24", "2001:db8::/32"; a bare address means the address alone.
  static Result<Cidr> parse(std::string_view text);
  // A comma-separated list (spaces around items allowed, empty items skipped).
  static Result<std::vector<Cidr>> parse_list(std::string_view text);
  bool contains(const IpAddress& ip) const;
  std::string to_string() const;
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

class AddressClassifier {
 public:
  AddressClassifier() = default;
  explicit AddressClassifier(std::vector<Cidr> treat_as_public) : treat_as_public_(std::move(treat_as_public)) {}

  bool is_public(const IpAddress& ip) const;
  // A direct IP address that is public; false for circuits, DNS names and other non-IP addresses.
  bool is_public(const Multiaddr& addr) const;
  const std::vector<Cidr>& treat_as_public() const { return treat_as_public_; }

 private:
  std::vector<Cidr> treat_as_public_;
};

}  // namespace stargate::p2p::autonat
