#pragma once
// Decides from AutoNAT probe results whether this node is publicly reachable, with hysteresis:
// the verdict changes only when `required_agreeing` results in a row, from as many distinct
// servers, say the same thing (the spec: "if more than 3 peers report ..."). Results that
// carry no evidence (the server refused, failed, or did not answer) neither count nor break a
// run, and alternating results never change the verdict: it does not flap.
//
// A confidence counter (0..max_confidence, as go-libp2p keeps one) grows with every result that
// agrees with the verdict and shrinks with every one that does not; the service probes more
// often while it is below the maximum. Sans-IO: no clock, no I/O.
#include "crypto/peer_id.hpp"

#include <cstddef>
#include <string_view>
#include <vector>

namespace stargate::p2p::autonat {

enum class Reachability { unknown, public_, private_ };
// "unknown", "public", "private".
std::string_view to_string(Reachability reachability);

enum class ProbeOutcome {
  reachable,    // the server dialed us back (OK)
  unreachable,  // it tried and failed (E_DIAL_ERROR)
  no_evidence,  // refused, bad request, internal error, no answer
};

struct TrackerConfig {
  std::size_t required_agreeing = 3;  // results in a row, from distinct servers, to change the verdict
  int max_confidence = 3;
};

class ReachabilityTracker {
 public:
  explicit ReachabilityTracker(TrackerConfig config = {}) : config_(config) {}

  // Records one server's result; true when the verdict changed.
  bool record(const crypto::PeerId& server, ProbeOutcome outcome);
  // Our addresses changed: what was learnt about the old ones is weaker evidence now. The verdict
  // stays until new results overturn it, but confidence drops to zero (so the service re-probes
  // soon) and the current run starts over.
  void addresses_changed();

  Reachability reachability() const { return reachability_; }
  int confidence() const { return confidence_; }
  bool confident() const { return reachability_ != Reachability::unknown && confidence_ >= config_.max_confidence; }
  const TrackerConfig& config() const { return config_; }

 private:
  TrackerConfig config_;
  Reachability reachability_ = Reachability::unknown;
  int confidence_ = 0;
  // The current run of agreeing results: what they say, and the distinct servers that said it.
  Reachability run_kind_ = Reachability::unknown;
  std::vector<crypto::PeerId> run_servers_;
};

}  // namespace stargate::p2p::autonat
