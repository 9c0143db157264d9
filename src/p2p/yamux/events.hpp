#pragma once
// What a Session reports to its owner through Session::poll_event(), in wire order.
#include "base/bytes.hpp"
#include "p2p/yamux/frame.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

namespace stargate::p2p::yamux {

struct StreamOpened { StreamId id; };        // the peer opened a stream (SYN); it is accepted
struct StreamData { StreamId id; Bytes data; };  // report consumption with Session::consumed()
struct StreamRemoteClosed { StreamId id; };  // FIN: the peer will send no more (half-close)
struct StreamReset { StreamId id; };         // RST: the stream is gone
struct StreamWritable { StreamId id; };      // a write that was cut short may be retried
struct PingRtt { std::chrono::nanoseconds rtt; };
struct GoAwayReceived { std::uint32_t code; };  // no new streams; existing ones go on
// Protocol violation, ping timeout or a peer that does not read: the output then ends with a
// GoAway, every stream is gone and the session is dead.
struct SessionFailed { std::string reason; };

using Event = std::variant<StreamOpened, StreamData, StreamRemoteClosed, StreamReset, StreamWritable,
                           PingRtt, GoAwayReceived, SessionFailed>;

}  // namespace stargate::p2p::yamux
