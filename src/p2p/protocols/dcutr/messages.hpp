#pragma once
// DCUtR messages (libp2p/specs relay/DCUtR.md): CONNECT carries the sender's addresses for the
// hole punch, SYNC starts it. Sans-IO: plain structs, an encoder and a bounded decoder, and the
// choice of addresses worth punching to.
#include "base/bytes.hpp"
#include "base/multiaddr.hpp"
#include "base/result.hpp"

#include <cstddef>
#include <string_view>
#include <vector>

namespace stargate::p2p::dcutr {

inline constexpr std::string_view kProtocol = "/libp2p/dcutr";
// go-libp2p's bound on a message; the addresses one CONNECT may carry.
inline constexpr std::size_t kMaxMessageSize = 4096;
inline constexpr std::size_t kMaxAddrs = 16;

struct HolePunch {
  enum class Type { connect, sync };
  Type type = Type::connect;
  std::vector<Multiaddr> addrs;  // CONNECT only
  friend bool operator==(const HolePunch&, const HolePunch&) = default;
};

Bytes encode(const HolePunch& message);
// Errors: too large, not protobuf, no or an unknown type, more than kMaxAddrs addresses.
// Addresses that do not parse are dropped (a peer may know transports we do not).
Result<HolePunch> decode(BytesView body);

// The addresses of `offered` a hole punch can use: TCP over IPv4 or IPv6, not relayed, not
// unspecified, each once, without a /p2p suffix, at most kMaxAddrs. Loopback ones are kept only
// when nothing else is left (peers on one machine).
std::vector<Multiaddr> punchable(const std::vector<Multiaddr>& offered);

}  // namespace stargate::p2p::dcutr
