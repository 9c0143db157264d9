#pragma once
// Agent calls over libp2p (docs/protocol.md "A2A over libp2p"): protocol /stargate/a2a/1.0.0, one
// stream per call; the caller writes one uvarint-length-prefixed JSON-RPC request and closes its
// side, the callee answers with one length-prefixed response and closes. Both sides refuse
// messages over agent::kMaxMessageBytes from the length prefix alone, before reading them.
//
// The caller is the peer Noise authenticated on the connection: its agent ID follows from its
// PeerId (an Ed25519 identity key), and a request whose `from` says otherwise is refused.
#include "agent/in_flight.hpp"
#include "agent/served_stream.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/host/host.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace stargate::agent {

inline constexpr const char* kA2aProtocol = "/stargate/a2a/1.0.0";

// The agent ID of the peer, when its PeerId embeds an Ed25519 key (every Stargate node's does).
std::optional<std::string> agent_id_of(const crypto::PeerId& peer);

// Serves one call: `handle` gets the request text and the connection it came on (its remote_peer is
// the authenticated caller; its remote_addr and `relayed` tell whether the caller's IP is known, for
// per-IP limits) and returns the response text (already bounded by the caller of serve_a2a's handler).
using A2aRequestHandler =
    std::function<p2p::awaitable<std::string>(std::string request, p2p::ConnectionInfo connection)>;
// Why a caller was turned away or cut off, for the node's counters and strikes.
enum class A2aRefusal { node_busy, peer_busy, ip_busy, too_slow };
std::string_view to_string(A2aRefusal refusal);

struct A2aServeOptions {
  // Requests read or handled at once (each may hold up to 10 MB), in all and per caller and IP: a
  // request beyond its share is answered "rate limited" (-32007, with retry_after_ms) at once,
  // unread. A place is taken when the stream negotiates the protocol.
  InFlightLimits in_flight;
  // A request's length prefix must arrive within header_timeout of that moment, and the whole
  // request within body_timeout; a caller slower than that is cut off (the stream is reset).
  std::chrono::milliseconds header_timeout{5'000};
  std::chrono::milliseconds body_timeout{30'000};
  // Every refusal and cut-off, with the caller: the node counts them and strikes the caller (a
  // caller that keeps holding places without progress is backed off like a flooder).
  std::function<void(const crypto::PeerId& caller, A2aRefusal why)> on_refused;
};
// Streamed calls (/stargate/a2a/1.1.0, a2a_stream_io.hpp): `open` takes the opening frame (a
// request, streamed or not, or a resume) and returns the stream to write, or the one response;
// `ended` is told when a path is done with a stream.
struct A2aStreamService {
  std::function<p2p::awaitable<StreamAttachment>(std::string opening, p2p::ConnectionInfo connection)> open;
  std::function<void(const ServedStream&)> ended;
};
// Serves /stargate/a2a/1.0.0, and /stargate/a2a/1.1.0 too when `streams.open` is set.
void enable_a2a(p2p::Host& host, A2aRequestHandler handle, A2aServeOptions options = {}, A2aStreamService streams = {});

// Sends `request` to the peer on `connection` and returns the response text. Throws
// p2p::MessageTooLarge when the response is over the limit, ErrorException on a stream failure.
p2p::awaitable<std::string> a2a_round_trip(p2p::Host& host, std::shared_ptr<p2p::MuxedConnection> connection,
                                           const std::string& request);

}  // namespace stargate::agent
