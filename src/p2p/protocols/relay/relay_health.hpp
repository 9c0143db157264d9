#pragma once
// Health of the relays a node is configured with (sans-IO): the outcome of each probe goes in,
// out come each relay's state and the relays worth holding a reservation on. A relay turns
// unhealthy after a run of failed probes (one lost ping is not an outage) and healthy again on
// the first probe that succeeds; the preferred relays are the first healthy ones in the order the
// operator listed them (primary, then backups), so traffic returns to the primary once it is back.
#include "crypto/peer_id.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::relay {

enum class RelayHealthState { unknown, healthy, unhealthy };
std::string_view to_string(RelayHealthState state);

struct RelayHealthPolicy {
  unsigned failures_before_unhealthy = 3;  // consecutive failed probes
  std::size_t reservations = 2;            // relays to hold a reservation on at once
};

struct RelayHealthRecord {
  crypto::PeerId relay;
  RelayHealthState state = RelayHealthState::unknown;
  unsigned consecutive_failures = 0;
  std::optional<std::chrono::steady_clock::duration> last_rtt;
  std::string last_error;
  std::uint64_t probes_ok = 0, probes_failed = 0;
  std::uint64_t became_unhealthy = 0, became_healthy = 0;  // transitions (from unknown too)
};

class RelayHealthTable {
 public:
  // `relays` in order of preference, without duplicates.
  RelayHealthTable(std::vector<crypto::PeerId> relays, RelayHealthPolicy policy);

  // Each returns true when the relay's state changed.
  bool record_success(const crypto::PeerId& relay, std::chrono::steady_clock::duration rtt);
  bool record_failure(const crypto::PeerId& relay, std::string reason);

  // The relays to reserve on: the first `reservations` that are not unhealthy, in preference order.
  // Not yet probed counts as a candidate, so that a node reserves at once when it starts.
  std::vector<crypto::PeerId> preferred() const;
  // Failed its last probe but not yet declared unhealthy: worth probing again soon.
  bool suspect(const crypto::PeerId& relay) const;
  bool unhealthy(const crypto::PeerId& relay) const;
  const RelayHealthRecord* find(const crypto::PeerId& relay) const;
  const std::vector<RelayHealthRecord>& records() const { return records_; }

 private:
  RelayHealthRecord* record_of(const crypto::PeerId& relay);

  std::vector<RelayHealthRecord> records_;  // preference order
  RelayHealthPolicy policy_;
};

}  // namespace stargate::p2p::relay
