#include "p2p/protocols/dcutr/messages.hpp"

#include "holepunch.pb.h"

#include <algorithm>

namespace stargate::p2p::dcutr {
namespace {

bool is_loopback_ip(const MultiaddrComponent& c) {
  if (c.protocol == Protocol::ip4) return c.value.size() == 4 && c.value[0] == 127;
  if (c.protocol == Protocol::ip6) {
    return c.value.size() == 16 && std::all_of(c.value.begin(), c.value.end() - 1, [](auto b) { return b == 0; }) &&
           c.value.back() == 1;
  }
  return false;
}

bool is_unspecified_ip(const MultiaddrComponent& c) {
  return std::all_of(c.value.begin(), c.value.end(), [](auto b) { return b == 0; });
}

}  // namespace

Bytes encode(const HolePunch& message) {
  pb::holepunch::HolePunch msg;
  msg.set_type(message.type == HolePunch::Type::connect ? pb::holepunch::HolePunch::CONNECT
                                                        : pb::holepunch::HolePunch::SYNC);
  for (const auto& addr : message.addrs) msg.add_obsaddrs(addr.bytes().data(), addr.bytes().size());
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<HolePunch> decode(BytesView body) {
  if (body.size() > kMaxMessageSize)
    return make_error("dcutr message: " + std::to_string(body.size()) + " bytes (at most " +
                      std::to_string(kMaxMessageSize) + ")");
  pb::holepunch::HolePunch msg;
  if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size()))) return make_error("dcutr message: not valid protobuf");
  // proto2 enums are closed: an unknown type lands in the unknown fields and has_type() is false.
  if (!msg.has_type()) return make_error("dcutr message: no type, or an unknown one");
  if (static_cast<std::size_t>(msg.obsaddrs_size()) > kMaxAddrs)
    return make_error("dcutr message: " + std::to_string(msg.obsaddrs_size()) + " addresses (at most " +
                      std::to_string(kMaxAddrs) + ")");
  HolePunch out;
  out.type = msg.type() == pb::holepunch::HolePunch::CONNECT ? HolePunch::Type::connect : HolePunch::Type::sync;
  for (const auto& bytes : msg.obsaddrs()) {
    if (auto addr = Multiaddr::from_bytes(as_bytes(bytes))) out.addrs.push_back(std::move(*addr));
  }
  return out;
}

std::vector<Multiaddr> punchable(const std::vector<Multiaddr>& offered) {
  std::vector<Multiaddr> out, loopback;
  for (const auto& addr : offered) {
    const auto& c = addr.components();
    if (c.size() < 2 || addr.is_circuit()) continue;
    if (c[0].protocol != Protocol::ip4 && c[0].protocol != Protocol::ip6) continue;
    if (c[1].protocol != Protocol::tcp || is_unspecified_ip(c[0])) continue;
    if (c.size() > 2 && !(c.size() == 3 && c[2].protocol == Protocol::p2p)) continue;  // e.g. /tcp/…/ws
    auto plain = addr.without_peer_id();
    auto& list = is_loopback_ip(c[0]) ? loopback : out;
    if (std::find(list.begin(), list.end(), plain) == list.end()) list.push_back(std::move(plain));
  }
  if (out.empty()) out = std::move(loopback);
  if (out.size() > kMaxAddrs) out.resize(kMaxAddrs);
  return out;
}

}  // namespace stargate::p2p::dcutr
