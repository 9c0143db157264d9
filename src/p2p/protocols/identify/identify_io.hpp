#pragma once
// identify over streams: answers /ipfs/id/1.0.0, accepts /ipfs/id/push/1.0.0, and identifies
// every new connection, filling the peer store.
#include "base/signal_io.hpp"
#include "p2p/host/host.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace stargate::p2p::identify {

class IdentifyService : public std::enable_shared_from_this<IdentifyService> {
 public:
  // Registers the handlers and the connection hook on `host`; keep the service alive as long as the host.
  static std::shared_ptr<IdentifyService> enable(Host& host);

  // Asks the peer on `connection` and records the answer in the peer store.
  awaitable<PeerInfo> identify(std::shared_ptr<MuxedConnection> connection);
  // Waits until `peer` has been identified (by the automatic identify on connect), or throws on timeout.
  awaitable<PeerInfo> wait_identified(const crypto::PeerId& peer, Clock::duration timeout);
  // Sends our current identify message to every connected peer (after our protocols or addresses change).
  void push_to_all();
  // Runs when a peer answered an identify request on `connection` with the address it observes us
  // at (evidence for NAT classification, p2p/protocols/autonat).
  using ObservedHook = std::function<void(const MuxedConnection& connection, const Multiaddr& observed)>;
  void on_observed(ObservedHook hook) { observed_hooks_.push_back(std::move(hook)); }
  // Runs each time a peer's identify message (request, answer or push) has been recorded, with
  // what the peer store now knows (the DHT learns which peers are DHT servers from it).
  using IdentifiedHook = std::function<void(const PeerInfo& info)>;
  void on_identified(IdentifiedHook hook) { identified_hooks_.push_back(std::move(hook)); }

  explicit IdentifyService(Host& host);

 private:
  Bytes our_message(const MuxedConnection& connection) const;
  // `observed`, when given, receives the observed address this message carried (if any).
  PeerInfo record(const crypto::PeerId& peer, BytesView message, std::optional<Multiaddr>* observed = nullptr);

  Host& host_;
  Signal identified_;
  std::unordered_map<crypto::PeerId, PeerInfo> known_;
  std::vector<ObservedHook> observed_hooks_;
  std::vector<IdentifiedHook> identified_hooks_;
};

}  // namespace stargate::p2p::identify
