#pragma once
// Per-stream bookkeeping inside a Session. Streams have no queues of their own: written data goes
// straight into the session's output buffer and received data straight into events, so a stream
// can be dropped the moment it is fully closed.
//
// Spec states map onto the flags: SYN sent = outbound && !acked; SYN received = inbound (our ACK
// goes out at once, so it is established on our side immediately); established; local half-closed
// = local_closed; remote half-closed = remote_closed; closed (both) and reset = erased from the map.
#include "p2p/yamux/frame.hpp"
#include "p2p/yamux/receive_window.hpp"

#include <cstdint>

namespace stargate::p2p::yamux {

struct StreamState {
  StreamState(bool outbound_, std::uint32_t recv_window, ReceiveWindow::TimePoint now)
      : outbound(outbound_), recv(recv_window, now) {}

  bool outbound;
  bool acked = false;          // outbound only: the peer's ACK arrived
  bool local_closed = false;   // we sent FIN
  bool remote_closed = false;  // we received FIN
  bool want_writable = false;  // a write was cut short: report StreamWritable when it may go on
  bool in_blocked_list = false;
  std::uint32_t send_window = kDefaultWindow;
  ReceiveWindow recv;
};

}  // namespace stargate::p2p::yamux
