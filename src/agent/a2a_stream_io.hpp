#pragma once
// Streamed calls over libp2p (docs/protocol.md, "Streamed results"): /stargate/a2a/1.1.0, offered
// before /stargate/a2a/1.0.0. The caller writes its opening frame (a request with a window, or a
// resume) and then acknowledgements and cancellation; the callee writes the frames of the stream
// (StreamOutbox) as the caller's credit allows, batched into few writes. Either side's memory for
// the stream is reserved in the libp2p resource manager (the a2a service's scopes) while the path
// is attached. A path that breaks leaves the callee's stream waiting for a resume.
#include "agent/served_stream.hpp"
#include "agent/streaming_call.hpp"
#include "p2p/host/host.hpp"

#include <functional>
#include <memory>
#include <string>

namespace stargate::agent {

inline constexpr const char* kA2aStreamProtocol = "/stargate/a2a/1.1.0";

// The callee: writes `opened`'s frames on `stream` until the final one is acknowledged or the path
// breaks (or another path takes the stream over); then tells `ended`.
p2p::awaitable<void> serve_stream_frames(std::shared_ptr<p2p::MuxedStream> stream, StreamAttachment opened,
                                         std::function<void(const ServedStream&)> ended);

// The caller: sends `opening` on a new stream of `connection` and delivers the frames into `call`
// until its final one; throws when the path breaks first (the caller then resumes elsewhere). A
// callee that only speaks /stargate/a2a/1.0.0 gets the request as a unary call; its response is
// the final frame.
p2p::awaitable<void> a2a_stream_call(p2p::Host& host, std::shared_ptr<p2p::MuxedConnection> connection,
                                     const std::string& opening, StreamingCall& call);

}  // namespace stargate::agent
