#pragma once
// What kind of NAT (if any) is in front of this node, from the addresses peers observe us at
// (identify observedAddr). Each observation says which of our local ports the connection used and
// whether that was the listen port: an observation of a connection dialed from an ephemeral port
// says nothing about how the NAT maps the listen port, so mapped ports are compared only between
// observations of the same local port.
//
//   public                observed == our end of the connection (no translation), for enough observers
//   symmetric             one local port seen at different addresses by different observers, or our
//                         translated address seen with different IPs
//   endpoint_independent  one local port seen at the same address by distinct observers, or (from
//                         ephemeral ports) every mapping keeps the local port, as port-preserving NATs do
//   unknown               fewer than `min_observers` distinct observer IPs, or nothing conclusive
//
// The caller feeds only observations worth having: from direct (not relayed) connections, made
// by observers at public addresses (a peer on our LAN sees our private address). Bounded: the
// latest observation per observer and kind of local port (listen or ephemeral: a second
// connection to the same observer, from an ephemeral port, must not hide what the listen port's
// mapping looked like), at most `max_observers` of them. Sans-IO.
#include "base/multiaddr.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/protocols/autonat/address_classifier.hpp"

#include <cstddef>
#include <deque>
#include <string_view>

namespace stargate::p2p::autonat {

enum class NatKind { unknown, public_, endpoint_independent, symmetric };
// "unknown", "public", "endpoint_independent", "symmetric".
std::string_view to_string(NatKind kind);

struct Observation {
  crypto::PeerId observer;
  IpAddress observer_ip;
  Multiaddr observed;  // where the observer saw us: /ip4|ip6/A/tcp/P
  Multiaddr local;     // our end of that connection
  bool from_listen_port = false;  // that local port is our listen port (outbound from it, or inbound)
};

struct NatClassifierConfig {
  std::size_t min_observers = 2;  // distinct observer IPs needed for any verdict
  std::size_t max_observers = 64;
};

class NatClassifier {
 public:
  explicit NatClassifier(NatClassifierConfig config = {}) : config_(config) {}

  // Records (or replaces) `observation.observer`'s observation of that kind of local port; false when it is not usable (not
  // IP+TCP on both ends, or mixed families). The kind is recomputed from what is kept.
  bool add(Observation observation);
  NatKind kind() const;
  std::size_t observations() const { return observations_.size(); }

 private:
  NatClassifierConfig config_;
  std::deque<Observation> observations_;  // oldest first
};

}  // namespace stargate::p2p::autonat
