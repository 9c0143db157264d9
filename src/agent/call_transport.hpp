#pragma once
// One way of carrying a call to another agent: the libp2p endpoint (pooled connection, direct
// dial, relayed circuit; libp2p_transport.hpp) or the NATS endpoint (sealed sessions through a
// broker; nats_endpoint.hpp). The cascade (cascade.hpp) tries them in order; each attempt says
// which tier carried the call, or why nothing came back. A new transport (QUIC, WebRTC) is one
// more implementation of this interface and one more entry in the cascade's order.
#include "base/multiaddr.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/x25519.hpp"
#include "stargate/node.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::agent {

class StreamingCall;

// The tier that carried a call: a direct libp2p connection, a relayed one, or the broker.
enum class Tier { direct, relay, nats };
std::string_view to_string(Tier tier);

// Whom a call goes to, as far as the node knows: what its announcement said and what libp2p
// learned. A transport that needs something missing here cannot reach it (cannot_reach).
struct CallTarget {
  std::string label;                      // for messages: the agent ID, else the PeerId or multiaddr
  std::string agent_id;                   // announced agents only (the NATS subject)
  std::optional<crypto::PeerId> peer_id;  // libp2p
  std::vector<Multiaddr> addrs;           // dialable libp2p addresses, preferred first
  std::optional<crypto::X25519Key> session_key;          // NATS: static key of its sealed sessions
  std::optional<crypto::Ed25519PublicKey> identity_key;  // NATS: who must answer
};

// One call, the same on every tier: its ID is the request ID, so a callee reached twice (a tier
// that gave up late, then the next) runs it at most once (ResultCache).
struct OutboundCall {
  std::string id;
  std::string method;
  boost::json::value params;
  // The caller's whole deadline, which the callee is told (not one tier's share: a handler that
  // takes longer runs on, and a retry over the next tier joins its run).
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds timeout{0};  // the caller's, for messages
  Via via = Via::any;
  // A streamed call: frames go into it, and an attempt after the first resumes after what it has
  // received. An answered attempt's result is then null (the final frame is in the stream).
  std::shared_ptr<StreamingCall> stream;
};

// What one attempt came to.
struct CallOutcome {
  Tier tier = Tier::direct;              // the tier that carried the answer (meaningless for a failure)
  std::optional<boost::json::value> result;
  std::optional<CallError> error;        // an answer, even an error, is final: no other tier runs it
  std::optional<std::string> failure;    // nothing came back: the next tier may try
  bool timed_out = false;                // the failure is that the time given ran out

  static CallOutcome answered(Tier tier, boost::json::value result);
  static CallOutcome refused(Tier tier, CallError error);
  static CallOutcome failed(Tier tier, std::string why, bool timed_out = false);
};

class CallTransport {
 public:
  virtual ~CallTransport() = default;
  // Why this transport cannot carry a call to `target` at all (no address known); nullopt when it
  // can try.
  virtual std::optional<std::string> cannot_reach(const CallTarget& target) const = 0;
  // One attempt, giving up at `give_up_at` (this tier's share of the deadline). A failed attempt is
  // an outcome, not an exception. The cascade stops waiting at `give_up_at` whatever the transport
  // does, and keeps `target` and `call` alive until the attempt ends.
  virtual boost::asio::awaitable<CallOutcome> call(const CallTarget& target, const OutboundCall& call,
                                                   std::chrono::steady_clock::time_point give_up_at) = 0;
};

}  // namespace stargate::agent
