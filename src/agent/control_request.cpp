#include "agent/control_request.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace stargate::agent {

namespace json = boost::json;

namespace {

using ParseResult = boost::system::result<ControlRequest, RequestFailure>;

constexpr std::array<std::pair<std::string_view, Via>, 4> kVias{
    {{"any", Via::any}, {"direct", Via::direct}, {"relay", Via::relay}, {"nats", Via::nats}}};

// A member of `params`; JSON null counts as absent.
const json::value* member(const json::object& params, std::string_view key) {
  const json::value* v = params.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

std::optional<std::string> call_of(const json::object& params, ControlCall& call) {
  const json::value* peer = params.if_contains("peer");
  const json::value* method = params.if_contains("method");
  if (!peer || !peer->is_string() || peer->get_string().empty() || !method || !method->is_string() ||
      method->get_string().empty())
    return "call needs peer and method strings";
  call.peer = std::string(peer->get_string());
  call.method = std::string(method->get_string());
  if (const json::value* p = params.if_contains("params")) {
    if (!p->is_object() && !p->is_array() && !p->is_null()) return "call params must be an object, an array or null";
    call.params = *p;
  }
  if (const json::value* t = member(params, "timeout_ms")) {
    boost::system::error_code ec;
    const auto ms = t->to_number<std::int64_t>(ec);  // an integer, or a float holding one exactly
    if (ec || ms < 1 || ms > kMaxDeadlineMs)
      return "timeout_ms must be an integer between 1 and " + std::to_string(kMaxDeadlineMs);
    call.timeout = std::chrono::milliseconds(ms);
  }
  if (const json::value* v = member(params, "via")) {
    const auto* found = v->is_string() ? std::find_if(kVias.begin(), kVias.end(),
                                                      [&](const auto& via) { return via.first == v->get_string(); })
                                       : kVias.end();
    if (found == kVias.end()) return "via must be any, direct, relay or nats";
    call.via = found->second;
  }
  return std::nullopt;
}

std::optional<std::string> discover_of(const json::object& params, ControlDiscover& discover) {
  if (const json::value* c = member(params, "capability")) {
    if (!c->is_string()) return "capability must be a string";
    discover.capability = std::string(c->get_string());
  }
  return std::nullopt;
}

}  // namespace

std::string_view method_name(const ControlCommand& command) {
  static constexpr std::string_view names[] = {"call", "discover", "announce", "status", "metrics"};
  static_assert(std::size(names) == std::variant_size_v<ControlCommand>);
  return names[command.index()];
}

ParseResult parse_control_request(std::string_view line) {
  auto request = parse_request(line);
  if (!request) return std::move(request).error();
  ControlRequest out{std::move(request->id), ControlStatus{}};
  auto refuse = [&](ErrorCode code, std::string message) -> ParseResult {
    return RequestFailure{RpcError(code, std::move(message)), std::move(out.id)};
  };

  const std::string& method = request->method;
  if (method == "call") {
    out.command = ControlCall{};
  } else if (method == "discover") {
    out.command = ControlDiscover{};
  } else if (method == "announce") {
    out.command = ControlAnnounce{};
  } else if (method == "status") {
    out.command = ControlStatus{};
  } else if (method == "metrics") {
    out.command = ControlMetrics{};
  } else {
    return refuse(ErrorCode::method_not_found, "unknown control method " + method);
  }

  if (!request->params.is_null() && !request->params.is_object())
    return refuse(ErrorCode::invalid_params, "control params must be an object");
  static const json::object none;
  const json::object& params = request->params.is_object() ? request->params.get_object() : none;
  std::optional<std::string> error;
  if (auto* call = std::get_if<ControlCall>(&out.command)) error = call_of(params, *call);
  if (auto* discover = std::get_if<ControlDiscover>(&out.command)) error = discover_of(params, *discover);
  if (error) return refuse(ErrorCode::invalid_params, std::move(*error));
  return out;
}

}  // namespace stargate::agent
