#pragma once
// The status model and discovered peers as JSON: what the control socket's `status` and
// `discover` answer and what `stargate status --json` prints (docs/protocol.md, "Control socket").
#include "stargate/node.hpp"

#include <boost/json/value.hpp>

namespace stargate::agent {

boost::json::value to_json(const PeerSummary& peer);
boost::json::value to_json(const NodeStatus& status);

}  // namespace stargate::agent
