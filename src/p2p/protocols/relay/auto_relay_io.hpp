#pragma once
// A node that finds itself private (AutoNAT) reserves slots on relays on its own: among the peers
// it is directly connected to, those that offer the hop protocol (identify), up to a few, as
// go-libp2p's autorelay does with its peer source. Configured relays make this unnecessary; relays
// found through the DHT come later (issue 7).
#include "p2p/host/host.hpp"
#include "p2p/protocols/autonat/autonat_io.hpp"
#include "p2p/protocols/identify/identify_io.hpp"
#include "p2p/protocols/relay/relay_client_io.hpp"

#include <memory>

namespace stargate::p2p::relay {

struct AutoRelayOptions {
  std::size_t relays = 2;  // reservations to hold when private (spread over this many relays)
};

class AutoRelay : public std::enable_shared_from_this<AutoRelay> {
 public:
  // Runs check() whenever reachability changes or a peer is identified; keep it alive as long as
  // the services it uses.
  static std::shared_ptr<AutoRelay> enable(Host& host, identify::IdentifyService& identify,
                                           std::shared_ptr<RelayClient> client,
                                           std::shared_ptr<autonat::ReachabilityService> reachability,
                                           AutoRelayOptions options = {});
  AutoRelay(Host& host, std::shared_ptr<RelayClient> client, std::shared_ptr<autonat::ReachabilityService> reachability,
            AutoRelayOptions options);

  // When private and holding fewer than `relays` relays: adds connected hop-capable peers.
  void check();
  std::size_t chosen() const { return chosen_; }

 private:
  Host& host_;
  std::shared_ptr<RelayClient> client_;
  std::shared_ptr<autonat::ReachabilityService> reachability_;
  AutoRelayOptions options_;
  std::size_t chosen_ = 0;
};

}  // namespace stargate::p2p::relay
