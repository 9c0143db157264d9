#pragma once
// A relay as `stargate relay start` runs it: a host with the standard protocols, the Circuit
// Relay v2 hop service, an AutoNAT server (which answers, never probes: a relay's addresses
// are given), a DHT server, where it advertises itself as a relay (docs/dht.md), and gossipsub on
// the announcement topic, so that agents that join through it reach the mesh. Listening is left
// to the caller. Shared by `relay start` and `demo`.
#include "p2p/host/host.hpp"
#include "p2p/protocols/autonat/autonat_io.hpp"
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"
#include "p2p/protocols/identify/identify_io.hpp"
#include "p2p/protocols/kad/kad_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"

#include <memory>

namespace stargate::cli {

// The resource limits of a relay that carries at most `max_circuits` circuits at once: the relay
// service's scope holds both streams of each circuit and its splice buffers.
p2p::ResourceLimits relay_resource_limits(std::size_t max_circuits, std::size_t max_circuits_per_peer);

struct RelayNode {
  RelayNode(p2p::asio::any_io_executor executor, crypto::Ed25519PrivateKey identity,
            p2p::relay::RelayServiceOptions relay_options, p2p::autonat::AddressClassifier classifier = {},
            p2p::ResourceLimits resources = {});
  RelayNode(const RelayNode&) = delete;
  RelayNode& operator=(const RelayNode&) = delete;
  // Joins the DHT through `bootstrap` (none: it waits for others to join through it) and
  // advertises this relay under "stargate/relay", once listening.
  void join_dht(std::vector<Multiaddr> bootstrap);
  // Stops serving: open circuits reset, Yamux GoAway on every connection, listeners closed.
  void close();

  p2p::Host host;
  std::shared_ptr<p2p::identify::IdentifyService> identify;
  std::shared_ptr<p2p::relay::RelayService> service;
  std::shared_ptr<p2p::autonat::ReachabilityService> autonat;
  std::shared_ptr<p2p::kad::Dht> dht;
  std::shared_ptr<p2p::gossipsub::GossipsubService> gossip;
};

}  // namespace stargate::cli
