#include "p2p/protocols/relay/relay_health.hpp"

#include <algorithm>

namespace stargate::p2p::relay {

std::string_view to_string(RelayHealthState state) {
  switch (state) {
    case RelayHealthState::unknown: return "unknown";
    case RelayHealthState::healthy: return "healthy";
    case RelayHealthState::unhealthy: return "unhealthy";
  }
  return "unknown";
}

RelayHealthTable::RelayHealthTable(std::vector<crypto::PeerId> relays, RelayHealthPolicy policy) : policy_(policy) {
  policy_.failures_before_unhealthy = std::max(policy_.failures_before_unhealthy, 1u);
  for (auto& relay : relays) {
    if (record_of(relay)) continue;
    RelayHealthRecord record;
    record.relay = std::move(relay);
    records_.push_back(std::move(record));
  }
}

RelayHealthRecord* RelayHealthTable::record_of(const crypto::PeerId& relay) {
  auto it = std::find_if(records_.begin(), records_.end(), [&](const auto& r) { return r.relay == relay; });
  return it == records_.end() ? nullptr : &*it;
}

const RelayHealthRecord* RelayHealthTable::find(const crypto::PeerId& relay) const {
  return const_cast<RelayHealthTable*>(this)->record_of(relay);
}

bool RelayHealthTable::record_success(const crypto::PeerId& relay, std::chrono::steady_clock::duration rtt) {
  auto* record = record_of(relay);
  if (!record) return false;
  ++record->probes_ok;
  record->consecutive_failures = 0;
  record->last_rtt = rtt;
  record->last_error.clear();
  if (record->state == RelayHealthState::healthy) return false;
  record->state = RelayHealthState::healthy;
  ++record->became_healthy;
  return true;
}

bool RelayHealthTable::record_failure(const crypto::PeerId& relay, std::string reason) {
  auto* record = record_of(relay);
  if (!record) return false;
  ++record->probes_failed;
  ++record->consecutive_failures;
  record->last_error = std::move(reason);
  if (record->state == RelayHealthState::unhealthy || record->consecutive_failures < policy_.failures_before_unhealthy)
    return false;
  record->state = RelayHealthState::unhealthy;
  ++record->became_unhealthy;
  return true;
}

std::vector<crypto::PeerId> RelayHealthTable::preferred() const {
  std::vector<crypto::PeerId> out;
  for (const auto& record : records_) {
    if (out.size() >= policy_.reservations) break;
    if (record.state != RelayHealthState::unhealthy) out.push_back(record.relay);
  }
  return out;
}

bool RelayHealthTable::suspect(const crypto::PeerId& relay) const {
  const auto* record = find(relay);
  return record && record->consecutive_failures > 0 && record->state != RelayHealthState::unhealthy;
}

bool RelayHealthTable::unhealthy(const crypto::PeerId& relay) const {
  const auto* record = find(relay);
  return record && record->state == RelayHealthState::unhealthy;
}

}  // namespace stargate::p2p::relay
