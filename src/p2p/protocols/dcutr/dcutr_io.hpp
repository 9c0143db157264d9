#pragma once
// DCUtR over streams (libp2p/specs relay/DCUtR.md): upgrades a relayed connection to a direct
// one by a synchronised TCP simultaneous open through both NATs.
//
// B, the peer that accepted the relayed connection, drives it: it sends CONNECT with its
// addresses, measures the round trip until A's CONNECT comes back, sends SYNC and, half a round
// trip later (when SYNC reaches A), dials A's addresses while A dials B's. Both dial from their
// listen port (Host::punch), so each NAT sees the outgoing SYN of an existing mapping and lets the
// other's SYN in. A is the client of the security handshake on the new connection. Up to
// `max_attempts` tries; on success the relayed connection is closed once no stream uses it.
//
// Our addresses are what peers observed (identify) on direct connections, translated to the
// listen port when the connection left from another port (rust-libp2p does the same), then the
// advertised direct addresses.
#include "p2p/host/host.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace stargate::p2p::dcutr {

struct DcutrOptions {
  int max_attempts = 3;                          // the spec's bound
  std::chrono::milliseconds exchange_timeout{10'000};  // CONNECT/SYNC exchange over the relay
  std::chrono::milliseconds punch_timeout{5'000};      // the simultaneous dials
  // Upgrades run at once, both roles: each makes us dial addresses a peer chose, so a peer that
  // opens many relayed connections must not turn us into a SYN cannon.
  std::size_t max_concurrent = 8;
};

struct DcutrCounters {
  std::uint64_t upgrades_started = 0;    // relayed connections we tried to upgrade (as B)
  std::uint64_t attempts = 0;            // punch attempts, both roles
  std::uint64_t successes = 0;           // attempts that ended in a direct connection
  std::uint64_t upgrades_failed = 0;     // relayed connections left relayed after every attempt
  std::map<std::string, std::uint64_t> failures;  // failed attempts by reason
};

class DcutrService : public std::enable_shared_from_this<DcutrService> {
 public:
  // Registers the /libp2p/dcutr handler and a connection hook on `host`; keep the service alive
  // as long as the host.
  static std::shared_ptr<DcutrService> enable(Host& host, DcutrOptions options = {});
  DcutrService(Host& host, DcutrOptions options);

  const DcutrCounters& counters() const { return counters_; }
  // Upgrades running now (both roles).
  std::size_t in_progress() const { return running_; }
  // The addresses we offer in CONNECT.
  std::vector<Multiaddr> our_addrs() const;

 private:
  awaitable<void> upgrade(std::shared_ptr<MuxedConnection> relayed);           // as B
  awaitable<void> answer(std::shared_ptr<MuxedStream> stream);                 // as A
  awaitable<bool> attempt_as_b(std::shared_ptr<MuxedConnection> relayed);
  void fail(const std::string& reason);
  void retire(std::shared_ptr<MuxedConnection> relayed);

  // Holds one of the max_concurrent places while alive; false when none was free.
  struct Slot;
  std::shared_ptr<Slot> take_slot();

  Host& host_;
  DcutrOptions options_;
  DcutrCounters counters_;
  std::size_t running_ = 0;
};

}  // namespace stargate::p2p::dcutr
