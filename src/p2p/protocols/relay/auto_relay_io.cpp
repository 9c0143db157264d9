#include "p2p/protocols/relay/auto_relay_io.hpp"

#include "base/log.hpp"
#include "p2p/protocols/relay/messages.hpp"

#include <algorithm>

namespace stargate::p2p::relay {
AutoRelay::AutoRelay(Host& host, std::shared_ptr<RelayClient> client,
                     std::shared_ptr<autonat::ReachabilityService> reachability, AutoRelayOptions options)
    : host_(host), client_(std::move(client)), reachability_(std::move(reachability)), options_(options) {}

std::shared_ptr<AutoRelay> AutoRelay::enable(Host& host, identify::IdentifyService& identify,
                                             std::shared_ptr<RelayClient> client,
                                             std::shared_ptr<autonat::ReachabilityService> reachability,
                                             AutoRelayOptions options) {
  auto self = std::make_shared<AutoRelay>(host, std::move(client), reachability, options);
  std::weak_ptr<AutoRelay> weak = self;
  reachability->on_change([weak] {
    if (auto s = weak.lock()) s->check();
  });
  // A peer just identified may be a relay (its protocol list is in the peer store now).
  identify.on_observed([weak](const MuxedConnection&, const Multiaddr&) {
    if (auto s = weak.lock()) s->check();
  });
  return self;
}

void AutoRelay::check() {
  if (reachability_->reachability() != autonat::Reachability::private_) return;
  std::size_t held = client_->reservations().size();
  for (const auto& connection : host_.connections()) {
    if (held >= options_.relays) return;
    const auto& info = connection->info();
    if (info.relayed) continue;
    const auto* peer = host_.peer_store().find(info.remote_peer);
    if (!peer || std::find(peer->protocols.begin(), peer->protocols.end(), kHopProtocol) == peer->protocols.end())
      continue;
    // Where the relay listens: the address we dialed, or for a connection it made to us, one of
    // the addresses it advertises (its remote port is not a listen port).
    std::optional<Multiaddr> addr;
    if (info.outbound) {
      addr = info.remote_addr.without_peer_id();
    } else {
      for (const auto& a : peer->addrs) {
        if (!a.is_circuit()) {
          addr = a.without_peer_id();
          break;
        }
      }
    }
    if (!addr) continue;
    auto full = addr->encapsulate(Multiaddr::from_component(Protocol::p2p, info.remote_peer.bytes()).value());
    const auto before = client_->reservations().size();
    client_->add_relay(full);
    if (client_->reservations().size() > before) {
      ++held;
      ++chosen_;
      log::module<"relay">()->info("private: reserving on {} on our own", full.to_string());
    }
  }
}

}  // namespace stargate::p2p::relay
