#pragma once
// Limits and timers of a Yamux session. Every default can be overridden, so tests need not wait.
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace stargate::p2p::yamux {

struct Config {
  // Receive window each new stream starts with. The wire default is 256 KiB; a larger value is
  // advertised to the peer in the SYN/ACK window update. Smaller values are raised to 256 KiB,
  // because the peer may send that much before it hears from us.
  std::uint32_t initial_window = 256 * 1024;
  // Per-stream cap on receive-window growth (auto-tuning toward the bandwidth-delay product).
  std::uint32_t max_window = 16 * 1024 * 1024;
  // Sum over all streams of (window - initial_window): growth stops when it is spent, so many
  // fast streams cannot pin max_window each (rust-yamux's per-connection budget).
  std::size_t max_connection_window_growth = 64 * 1024 * 1024;
  // Concurrent inbound streams; a SYN beyond it is answered with RST (the session lives on).
  // Also bounds the streams we open ourselves.
  std::size_t max_streams = 512;
  // Bytes queued for the wire. Data writes stop being accepted at 7/8 of it (the rest is kept for
  // control frames); when control frames provoked by the peer (ping replies, ACKs, RSTs) push it
  // past the limit, the peer is not reading and the session fails (rust-yamux CVE-2024-32984).
  std::size_t max_pending_output = 16 * 1024 * 1024;
  // A data frame longer than this is a protocol error (rust-yamux refuses more than 1 MiB).
  std::uint32_t max_frame_data = 16 * 1024 * 1024;
  // Largest data frame we send; rust-yamux rejects frames over 1 MiB.
  std::uint32_t max_send_frame = 64 * 1024;
  // 0 = no keep-alive pings.
  std::chrono::milliseconds keepalive_interval{30000};
  // Any ping of ours unanswered this long fails the session; 0 = never.
  std::chrono::milliseconds ping_timeout{10000};
  // Inbound streams whose StreamOpened event the app has not polled yet; beyond it, RST.
  std::size_t max_inbound_pending_accept = 256;
};

// The client (dialer) uses odd stream IDs, the server (listener) even ones.
enum class Role { client, server };

}  // namespace stargate::p2p::yamux
