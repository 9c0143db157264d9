#pragma once
// A request line of the control socket (docs/protocol.md, "Control socket") parsed into a validated
// request, sans-IO: the server in control_socket.cpp only carries it out. Every malformed line maps
// to a JSON-RPC error: -32700 (not JSON), -32600 (not a JSON-RPC request), -32002 (too large),
// -32601 (not a control method) or -32602 (the method's params are wrong), answered to the request's
// id when it could be read.
//
//   call     {peer, method, params?, timeout_ms?, via?}
//   discover {capability?}
//   announce, status, metrics {}
//
// `params`, when present, must be an object; an optional member that is JSON null counts as absent.
#include "agent/jsonrpc.hpp"
#include "stargate/node.hpp"

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace stargate::agent {

struct ControlCall {
  std::string peer;    // an agent ID, a PeerId, a display name or a multiaddr: non-empty
  std::string method;  // non-empty
  boost::json::value params = boost::json::object();  // an object, an array or null; {} when absent
  // 1..kMaxDeadlineMs (24 hours, the longest duration taken from outside) when given; none: the
  // node's default call timeout.
  std::optional<std::chrono::milliseconds> timeout;
  Via via = Via::any;
};
struct ControlDiscover {
  std::optional<std::string> capability;
};
struct ControlAnnounce {};
struct ControlStatus {};
struct ControlMetrics {};

using ControlCommand = std::variant<ControlCall, ControlDiscover, ControlAnnounce, ControlStatus, ControlMetrics>;

struct ControlRequest {
  RequestId id;
  ControlCommand command;
};

// The method name a command answers to ("call", "discover", ...).
std::string_view method_name(const ControlCommand& command);

// One line, without its '\n'.
boost::system::result<ControlRequest, RequestFailure> parse_control_request(std::string_view line);

}  // namespace stargate::agent
