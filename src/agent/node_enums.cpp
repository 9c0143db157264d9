// The text forms of the public enums (flags, config, JSON, metric labels).
#include "stargate/node.hpp"

namespace stargate {

std::string_view to_string(Transport transport) { return transport == Transport::nats ? "nats" : "libp2p"; }

std::string_view to_string(DhtMode mode) {
  switch (mode) {
    case DhtMode::auto_: return "auto";
    case DhtMode::server: return "server";
    case DhtMode::client: return "client";
    case DhtMode::off: return "off";
  }
  return "auto";
}

std::optional<DhtMode> parse_dht_mode(std::string_view text) {
  for (DhtMode m : {DhtMode::auto_, DhtMode::server, DhtMode::client, DhtMode::off})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

std::optional<Transport> parse_transport(std::string_view text) {
  for (Transport t : {Transport::libp2p, Transport::nats}) {
    if (text == to_string(t)) return t;
  }
  return std::nullopt;
}

std::string_view to_string(Via via) {
  switch (via) {
    case Via::any: return "any";
    case Via::direct: return "direct";
    case Via::relay: return "relay";
    case Via::nats: return "nats";
  }
  return "any";
}

std::optional<Via> parse_via(std::string_view text) {
  for (Via via : {Via::any, Via::direct, Via::relay, Via::nats}) {
    if (text == to_string(via)) return via;
  }
  return std::nullopt;
}
}  // namespace stargate
