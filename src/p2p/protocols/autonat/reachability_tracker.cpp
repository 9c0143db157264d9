#include "p2p/protocols/autonat/reachability_tracker.hpp"

#include <algorithm>

namespace stargate::p2p::autonat {

std::string_view to_string(Reachability reachability) {
  switch (reachability) {
    case Reachability::public_: return "public";
    case Reachability::private_: return "private";
    case Reachability::unknown: break;
  }
  return "unknown";
}

bool ReachabilityTracker::record(const crypto::PeerId& server, ProbeOutcome outcome) {
  if (outcome == ProbeOutcome::no_evidence) return false;
  const auto said = outcome == ProbeOutcome::reachable ? Reachability::public_ : Reachability::private_;
  if (said != run_kind_) {
    run_kind_ = said;
    run_servers_.clear();
  }
  if (std::find(run_servers_.begin(), run_servers_.end(), server) == run_servers_.end() &&
      run_servers_.size() < config_.required_agreeing)
    run_servers_.push_back(server);

  if (said == reachability_) {
    confidence_ = std::min(confidence_ + 1, config_.max_confidence);
    return false;
  }
  confidence_ = std::max(confidence_ - 1, 0);
  if (run_servers_.size() < config_.required_agreeing) return false;
  reachability_ = said;
  // A verdict reached on required_agreeing distinct results starts at that much confidence.
  confidence_ = std::min(static_cast<int>(config_.required_agreeing), config_.max_confidence);
  return true;
}

void ReachabilityTracker::addresses_changed() {
  confidence_ = 0;
  run_kind_ = Reachability::unknown;
  run_servers_.clear();
}

}  // namespace stargate::p2p::autonat
