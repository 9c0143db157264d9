#pragma once
// Test helpers: identities, signed messages and a virtual clock for the sans-IO router.
#include "p2p/protocols/gossipsub/router.hpp"

#include <chrono>
#include <string>

namespace stargate::p2p::gossipsub::test {

struct Identity {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::generate();
  crypto::PeerId id = crypto::PeerId::from_public_key(key.public_key());
};

inline TimePoint t0() { return TimePoint{} + std::chrono::hours(1); }

inline Message signed_message(const Identity& author, const std::string& topic, const std::string& text,
                              std::uint64_t seqno) {
  return make_signed_message(author.key, author.id, topic, to_bytes(text), seqno);
}

inline Rpc publish_rpc(Message message) {
  Rpc rpc;
  rpc.publish.push_back(std::move(message));
  return rpc;
}

inline Rpc subscribe_rpc(const std::string& topic) {
  Rpc rpc;
  rpc.subscriptions.push_back(SubOpt{true, topic});
  return rpc;
}

// The RPCs the router queued for `peer`, merged; the rest of the queue is dropped.
inline Rpc outbound_for(Router& router, const crypto::PeerId& peer) {
  Rpc merged;
  for (auto& [to, rpc] : router.take_outbound())
    if (to == peer) merged.merge(std::move(rpc));
  return merged;
}

}  // namespace stargate::p2p::gossipsub::test
