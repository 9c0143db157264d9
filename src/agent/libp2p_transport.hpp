#pragma once
// Calls over libp2p (/stargate/a2a/1.0.0) as one tier of the cascade: the endpoint reaches the
// callee over a pooled connection, else the first of its addresses that works (direct addresses,
// then circuits through its relays); the tier is direct or relay by the connection that carried
// the answer.
#include "agent/call_transport.hpp"
#include "agent/p2p_endpoint.hpp"

#include <memory>

namespace stargate::agent {

class Libp2pTransport final : public CallTransport {
 public:
  // `caller_agent_id` goes into each request's `from` (the callee checks it against the PeerId
  // Noise authenticated).
  Libp2pTransport(std::shared_ptr<P2pEndpoint> endpoint, std::string caller_agent_id);

  // "no libp2p address known" without a PeerId, or without addresses and an open connection.
  std::optional<std::string> cannot_reach(const CallTarget& target) const override;
  boost::asio::awaitable<CallOutcome> call(const CallTarget& target, const OutboundCall& call,
                                           std::chrono::steady_clock::time_point give_up_at) override;

 private:
  boost::asio::awaitable<CallOutcome> call_streamed(const CallTarget& target, const OutboundCall& call, P2pEndpoint::Path path);

  std::shared_ptr<P2pEndpoint> endpoint_;
  std::string caller_agent_id_;
};

// The addresses `peer` can be dialed at: what it announced (its preference order: listen
// addresses, then circuits through its relays), then what libp2p learned (identify), each ending
// in /p2p/<peer>.
std::vector<Multiaddr> dialable_addrs(const p2p::Host& host, const crypto::PeerId& peer,
                                      const std::vector<std::string>& announced);

}  // namespace stargate::agent
