// libFuzzer target: request lines of the control socket (src/agent/control_request.*) fed hostile
// bytes. A line must either parse into a request whose every field is within bounds, and which
// written out again as a line parses back to the same request, or be refused with one of the codes
// the control socket answers with (-32700, -32600, -32002, -32601, -32602), whose error response
// parses back with that code and the request's id.
#include <cstddef>
#include <cstdint>

#include "agent/control_request.hpp"
#include "check.hpp"

using namespace stargate;
using namespace stargate::agent;
namespace json = boost::json;

namespace {

bool answered_code(int code) {
  for (ErrorCode c : {ErrorCode::parse_error, ErrorCode::invalid_request, ErrorCode::payload_too_large,
                      ErrorCode::method_not_found, ErrorCode::invalid_params})
    if (code == static_cast<int>(c)) return true;
  return false;
}

// stargate::to_string(Via) lives with the node, which the fuzz build does not compile.
std::string_view via_name(Via via) {
  switch (via) {
    case Via::any: return "any";
    case Via::direct: return "direct";
    case Via::relay: return "relay";
    case Via::nats: return "nats";
  }
  return "?";
}

// The request as a client would write it.
std::string line_of(const ControlRequest& request) {
  json::object params;
  if (const auto* call = std::get_if<ControlCall>(&request.command)) {
    params["peer"] = call->peer;
    params["method"] = call->method;
    params["params"] = call->params;
    if (call->timeout) params["timeout_ms"] = call->timeout->count();
    params["via"] = via_name(call->via);
  } else if (const auto* discover = std::get_if<ControlDiscover>(&request.command)) {
    if (discover->capability) params["capability"] = *discover->capability;
  }
  return make_request(method_name(request.command), params, request.id);
}

bool same(const ControlRequest& a, const ControlRequest& b) {
  if (a.id != b.id || a.command.index() != b.command.index()) return false;
  if (const auto* x = std::get_if<ControlCall>(&a.command)) {
    const auto& y = std::get<ControlCall>(b.command);
    return x->peer == y.peer && x->method == y.method && x->params == y.params && x->timeout == y.timeout &&
           x->via == y.via;
  }
  if (const auto* x = std::get_if<ControlDiscover>(&a.command))
    return x->capability == std::get<ControlDiscover>(b.command).capability;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto request = parse_control_request(line);
  if (!request) {
    const RequestFailure& failure = request.error();
    check(answered_code(failure.error.code) && !failure.error.message.empty());
    auto answer = parse_response(make_error_response(failure.id, failure.error));
    check(answer && answer->id == failure.id && !answer->ok() && answer->outcome.error().code == failure.error.code);
    return 0;
  }
  check(size <= kMaxMessageBytes);
  if (const auto* call = std::get_if<ControlCall>(&request->command)) {
    check(!call->peer.empty() && !call->method.empty());
    check(call->params.is_object() || call->params.is_array() || call->params.is_null());
    if (call->timeout) check(call->timeout->count() >= 1 && call->timeout->count() <= kMaxDeadlineMs);
  }
  auto again = parse_control_request(line_of(*request));
  check(again && same(*again, *request));
  return 0;
}
