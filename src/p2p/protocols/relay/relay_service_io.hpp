#pragma once
// The Circuit Relay v2 hop server: the coroutine layer around RelayState. It answers RESERVE and
// CONNECT on /libp2p/circuit/relay/0.2.0/hop, opens the stop stream to the destination, and then
// splices the two streams, counting bytes against the circuit's limit and resetting both ends when
// a limit runs out (byte allowance here, duration through RelayState::expire()).
//
// Reservations are made only over direct connections, and circuits only start from direct ones:
// a relay does not chain relays (go-libp2p and rust-libp2p refuse the same). A peer's reservations
// end when its last connection to the relay closes.
#include "p2p/host/host.hpp"
#include "p2p/protocols/relay/relay_state.hpp"

#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace stargate::p2p::relay {

// Memory a circuit reserves in the relay service's scope before it opens: its two splice buffers.
inline constexpr std::size_t kCircuitBufferBytes = 128 * 1024;

struct RelayServiceOptions {
  RelayLimits limits;
  // Only these peers may reserve or open circuits; none: anyone.
  std::optional<std::set<crypto::PeerId>> allowlist;
  // Bound on each hop/stop exchange (reading a request, the destination's answer).
  std::chrono::milliseconds exchange_timeout{30'000};
};

class RelayService : public std::enable_shared_from_this<RelayService> {
 public:
  // Registers the hop handler on `host`; keep the service alive as long as the host. The relay's
  // addresses in reservations follow the host's advertised addresses.
  static std::shared_ptr<RelayService> enable(Host& host, RelayServiceOptions options = {});
  RelayService(Host& host, RelayServiceOptions options);

  const RelayCounters& counters() const { return state_.counters(); }
  std::size_t reservation_count() const { return state_.reservation_count(); }
  std::size_t circuit_count() const { return state_.circuit_count(); }
  const RelayLimits& limits() const { return state_.limits(); }
  // Stops serving: open circuits are reset and the expiry timer stops (the host closes the rest).
  void close();

 private:
  struct ActiveCircuit {
    std::weak_ptr<MuxedStream> source;
    std::weak_ptr<MuxedStream> destination;
  };

  awaitable<void> serve(std::shared_ptr<MuxedStream> stream);
  awaitable<void> reserve(MuxedStream& stream);
  awaitable<void> connect(std::shared_ptr<MuxedStream> source, const HopMessage& request);
  awaitable<std::shared_ptr<MuxedStream>> open_stop(const crypto::PeerId& destination, const crypto::PeerId& source,
                                                    const CircuitGrant& grant);
  awaitable<void> pump(CircuitId id, Direction direction, std::shared_ptr<MuxedStream> from,
                       std::shared_ptr<MuxedStream> to);
  // Gives back a circuit granted by the state, counts why, and tells the source.
  awaitable<void> refuse_granted(MuxedStream& source, CircuitId id, RefusalReason reason);
  // `memory` holds the splice buffers' reservation until both directions have ended.
  void splice(CircuitId id, std::shared_ptr<MuxedStream> source, std::shared_ptr<MuxedStream> destination,
              std::shared_ptr<MemoryGrant> memory);
  void watch(std::shared_ptr<MuxedConnection> connection);
  void schedule_expiry();
  void end_circuit(CircuitId id);

  Host& host_;
  RelayServiceOptions options_;
  RelayState state_;
  std::unordered_map<CircuitId, ActiveCircuit> active_;
  std::unordered_set<const MuxedConnection*> watched_;
  asio::steady_timer expiry_timer_;
  bool closed_ = false;
};

}  // namespace stargate::p2p::relay
