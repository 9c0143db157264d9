// libFuzzer target: JSON-RPC 2.0 requests and responses (src/agent/jsonrpc.*) fed hostile bytes.
//   - A request that parses must serialise (through the hand-written serializer, which must write
//     exactly what boost::json::serialize writes) and parse back to the same method, id, params,
//     from and deadline; its answers (a result and an error carrying its params) must parse back as
//     responses to its id. A request that does not parse must fail with a JSON-RPC code, and the
//     error response to it must parse back with that code and id.
//   - A response that parses must be rebuilt by make_response / make_error_response and parse back
//     to the same id and outcome.
//   - make_error_response on an id and a message made of the raw input (any bytes): whenever both are
//     valid UTF-8 its output parses back to the same id, code and message.
// Tight limits (a few bytes, little nesting) must refuse more, never accept what the production
// limits refuse.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>

#include "agent/jsonrpc.hpp"
#include "check.hpp"

using namespace stargate;
using namespace stargate::agent;
namespace json = boost::json;

namespace {

bool is_parse_failure_code(int code) {
  return code == static_cast<int>(ErrorCode::parse_error) || code == static_cast<int>(ErrorCode::invalid_request) ||
         code == static_cast<int>(ErrorCode::payload_too_large);
}

// Valid UTF-8, by boost::json's own strict parser.
bool valid_utf8(std::string_view s) {
  boost::system::error_code ec;
  (void)json::parse(json::serialize(json::string_view(s.data(), s.size())), ec);
  return !ec;
}

// An error response parses back to the id and the error it was made of.
void check_error_response(const std::optional<RequestId>& id, const RpcError& error) {
  const std::string text = make_error_response(id, error);
  auto back = parse_response(text);
  check(back.has_value());
  check(back->id == id && !back->ok());
  const RpcError& got = back->outcome.error();
  check(got.code == error.code && got.message == error.message && got.data == error.data);
}

void request(std::string_view input) {
  auto parsed = parse_request(input);
  auto tight = parse_request(input, ParseLimits{.max_bytes = 256, .max_depth = 3});
  if (tight) check(parsed && parsed->method == tight->method && parsed->id == tight->id);

  if (!parsed) {
    const RequestFailure& failure = parsed.error();
    check(is_parse_failure_code(failure.error.code) && !failure.error.message.empty());
    check_error_response(failure.id, failure.error);
    return;
  }
  const Request& r = *parsed;
  check(input.size() <= kMaxMessageBytes && !r.method.empty());
  check(r.params.is_null() || r.params.is_object() || r.params.is_array());
  if (r.deadline_ms) check(*r.deadline_ms >= 0 && *r.deadline_ms <= kMaxDeadlineMs);

  const std::string text = serialize_request(r);
  // Byte for byte what boost::json writes for the same members in the same order.
  json::object members;
  members["jsonrpc"] = "2.0";
  members["method"] = r.method;
  if (!r.params.is_null()) members["params"] = r.params;
  members["id"] = to_json(r.id);
  if (!r.from.empty()) members["from"] = r.from;
  if (r.deadline_ms) members["deadline_ms"] = *r.deadline_ms;
  check(text == json::serialize(members));
  check(text == make_request(r.method, r.params, r.id, r.from, r.deadline_ms));

  auto again = parse_request(text);
  check(again.has_value());
  check(again->method == r.method && again->id == r.id && again->params == r.params && again->from == r.from &&
        again->deadline_ms == r.deadline_ms);

  // Its answers.
  auto answer = parse_response(make_response(r.id, r.params));
  check(answer && answer->id == std::optional<RequestId>(r.id) && answer->ok() && *answer->outcome == r.params);
  check_error_response(r.id, RpcError(ErrorCode::method_not_found, "no handler for " + r.method, r.params));
}

void response(std::string_view input) {
  auto parsed = parse_response(input);
  if (!parsed) {
    check(is_parse_failure_code(parsed.error().code));
    return;
  }
  check(input.size() <= kMaxMessageBytes);
  if (parsed->ok()) {
    if (!parsed->id) return;  // a result to "id":null: nothing we would ever send
    auto again = parse_response(make_response(*parsed->id, *parsed->outcome));
    check(again && again->id == parsed->id && again->ok() && *again->outcome == *parsed->outcome);
  } else {
    check_error_response(parsed->id, parsed->outcome.error());
    (void)retry_after(parsed->outcome.error());
    (void)parsed->outcome.error().to_string();
  }
}

// The raw input as an id and an error: an integer id and a code from its first bytes, or a string id
// (its first half) and a message (its second half).
void arbitrary_error(std::string_view input) {
  if (input.empty()) return;
  const bool integer = (input[0] & 1) != 0;
  input.remove_prefix(1);
  std::int64_t number = 0;
  std::memcpy(&number, input.data(), std::min(input.size(), sizeof number));
  const int code = static_cast<int>(number);
  std::optional<RequestId> id;
  std::string_view message = input;
  if (integer) {
    id = RequestId{number};
  } else if (!input.empty()) {
    id = RequestId{std::string(input.substr(0, input.size() / 2))};
    message = input.substr(input.size() / 2);
  }
  const RpcError error(code, std::string(message));
  (void)error.to_string();
  (void)error_name(code);
  (void)describe(code);
  const std::string text = make_error_response(id, error);
  const bool utf8 = valid_utf8(message) && (!id || !std::holds_alternative<std::string>(*id) ||
                                            valid_utf8(std::get<std::string>(*id)));
  if (utf8) check_error_response(id, error);
  (void)to_string(id.value_or(RequestId{std::int64_t{0}}));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  request(input);
  response(input);
  arbitrary_error(input);
  return 0;
}
