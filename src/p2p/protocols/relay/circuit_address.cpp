#include "p2p/protocols/relay/circuit_address.hpp"

#include <algorithm>

namespace stargate::p2p::relay {
namespace {

Result<Multiaddr> rebuild(const std::vector<MultiaddrComponent>& components, std::size_t begin, std::size_t end) {
  Multiaddr out;
  for (std::size_t i = begin; i < end; ++i) {
    auto one = Multiaddr::from_component(components[i].protocol, components[i].value);
    if (!one) return one.error();
    out = out.encapsulate(*one);
  }
  return out;
}

bool is_loopback_addr(const Multiaddr& addr) {
  const auto& c = addr.components();
  if (c.empty()) return false;
  if (c.front().protocol == Protocol::ip4) return c.front().value.size() == 4 && c.front().value[0] == 127;
  if (c.front().protocol == Protocol::ip6) {
    static const Bytes loopback6 = [] {
      Bytes b(16, 0);
      b[15] = 1;
      return b;
    }();
    return c.front().value == loopback6;
  }
  return false;
}

}  // namespace

Result<CircuitAddress> parse_circuit_address(const Multiaddr& addr) {
  const auto& c = addr.components();
  auto circuit = std::find_if(c.begin(), c.end(), [](const auto& x) { return x.protocol == Protocol::p2p_circuit; });
  if (circuit == c.end()) return Error{"not a circuit address (no /p2p-circuit): " + addr.to_string()};
  auto at = static_cast<std::size_t>(circuit - c.begin());
  if (at < 2 || c[at - 1].protocol != Protocol::p2p)
    return Error{"circuit address needs the relay's address and /p2p/<relay> before /p2p-circuit: " + addr.to_string()};
  CircuitAddress out;
  auto relay_addr = rebuild(c, 0, at);
  if (!relay_addr) return relay_addr.error();
  out.relay_addr = std::move(*relay_addr);
  auto relay = crypto::PeerId::from_bytes(c[at - 1].value);
  if (!relay) return Error{"bad relay peer ID in " + addr.to_string() + ": " + relay.error().message};
  out.relay = *relay;
  std::size_t rest = c.size() - at - 1;
  if (rest == 1 && c[at + 1].protocol == Protocol::p2p) {
    auto destination = crypto::PeerId::from_bytes(c[at + 1].value);
    if (!destination) return Error{"bad destination peer ID in " + addr.to_string() + ": " + destination.error().message};
    if (*destination == out.relay) return Error{"a relay cannot be its own circuit's destination: " + addr.to_string()};
    out.destination = *destination;
  } else if (rest != 0) {
    return Error{"only /p2p/<peer> may follow /p2p-circuit: " + addr.to_string()};
  }
  return out;
}

std::vector<Multiaddr> circuit_listen_addrs(const Multiaddr& dialed, const std::vector<Multiaddr>& relay_addrs,
                                            const crypto::PeerId& relay) {
  std::vector<Multiaddr> out;
  auto relay_component = Multiaddr::from_component(Protocol::p2p, relay.bytes());
  auto circuit = Multiaddr::from_component(Protocol::p2p_circuit, {});
  if (!relay_component || !circuit) return out;
  const bool keep_loopback = is_loopback_addr(dialed);
  auto add = [&](const Multiaddr& addr) {
    if (addr.empty() || addr.is_circuit()) return;
    if (!keep_loopback && is_loopback_addr(addr)) return;
    Multiaddr base = addr.without_peer_id();
    if (auto id = addr.peer_id_bytes(); id && *id != relay.bytes()) return;  // not this relay's
    auto full = base.encapsulate(*relay_component).encapsulate(*circuit);
    if (std::find(out.begin(), out.end(), full) == out.end()) out.push_back(std::move(full));
  };
  add(dialed);
  for (const auto& addr : relay_addrs) add(addr);
  return out;
}

}  // namespace stargate::p2p::relay
