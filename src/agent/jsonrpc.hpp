#pragma once
// JSON-RPC 2.0 messages for agent calls (DESIGN.md §3, docs/protocol.md "JSON-RPC"), sans-IO.
//
//   request:  {"jsonrpc":"2.0","method":"search","params":{...},"id":7,"from":"<agent id>"}
//   response: {"jsonrpc":"2.0","result":...,"id":7}
//             {"jsonrpc":"2.0","error":{"code":-32601,"message":"...","data":...},"id":7}
//
// Parsing is strict and bounded: the size limit is checked before a single byte is parsed, nesting
// is limited to kMaxJsonDepth, and every malformed request maps to the precise JSON-RPC code, with
// the request's id when it could be recovered so that the error response can still be correlated.
//
// This header includes <boost/json.hpp> (declarations only, about 1 s of compile time per TU; the
// implementation is compiled once in src/base/json.cpp).
#include "base/result.hpp"

#include <boost/json.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace stargate::agent {

// 10 MB, decimal (10 * 1000 * 1000 bytes): the largest request or response, in serialized bytes,
// that either side sends or accepts.
inline constexpr std::size_t kMaxMessageBytes = 10 * 1000 * 1000;
// The deepest nesting of arrays and objects accepted (the envelope itself counts as one level).
inline constexpr std::size_t kMaxJsonDepth = 64;

// Every error code Stargate produces. The first five are JSON-RPC 2.0's own; the rest lie in the
// range JSON-RPC reserves for implementation-defined server errors (-32000..-32099). Handlers may
// answer with any other integer code too: RpcError::code is an int, not this enum.
enum class ErrorCode : int {
  parse_error = -32700,       // the bytes are not JSON (or are nested too deeply)
  invalid_request = -32600,   // JSON, but not a valid JSON-RPC 2.0 request
  method_not_found = -32601,  // no handler for this method
  invalid_params = -32602,    // the handler refused the params
  internal_error = -32603,    // the handler failed (an exception, a crashed --serve command)
  timeout = -32000,           // no response before the caller's deadline
  unreachable = -32001,       // the peer is unknown, offline, or no transport reaches it
  payload_too_large = -32002, // the message exceeds kMaxMessageBytes; data: {size, limit}
  bad_signature = -32003,     // a signature or AEAD tag did not verify
  replay = -32004,            // a message seen before, or too old to be told apart from a replay
  forbidden = -32005,         // the caller is not allowed to call this method
  unknown_session = -32006,   // the callee has no session for this index: re-handshake
  rate_limited = -32007,      // too many calls; data: {retry_after_ms}
  stream_lost = -32008,       // no stream to resume or cancel: unknown call, another caller's, or
                              // its frames are no longer kept
  task_expired = -32009,      // a queued task's expiry passed before its callee ran it
  task_interrupted = -32010,  // a queued task's callee stopped while running it; it is not run again
};

// The enumerator's name ("method_not_found"), or "" for a code that is not in ErrorCode.
std::string_view error_name(int code);
// A short human description ("method not found"); for unknown codes, "server error" in
// -32000..-32099, "application error" elsewhere.
std::string_view describe(int code);
inline std::string_view describe(ErrorCode code) { return describe(static_cast<int>(code)); }

struct RpcError {
  int code = static_cast<int>(ErrorCode::internal_error);
  std::string message;
  boost::json::value data;  // null = absent

  RpcError() = default;
  RpcError(int c, std::string m, boost::json::value d = nullptr)
      : code(c), message(std::move(m)), data(std::move(d)) {}
  RpcError(ErrorCode c, std::string m, boost::json::value d = nullptr)
      : RpcError(static_cast<int>(c), std::move(m), std::move(d)) {}

  bool is(ErrorCode c) const { return code == static_cast<int>(c); }
  // "method not found (-32601): no handler for \"foo\"" — for logs and the CLI's stderr.
  std::string to_string() const;
  boost::json::object to_json() const;
};

// Standard errors with their data filled in.
RpcError payload_too_large_error(std::size_t size, std::size_t limit = kMaxMessageBytes);
RpcError rate_limited_error(std::chrono::milliseconds retry_after);
// The retry-after of a rate_limited error (data.retry_after_ms), if present and sane.
std::optional<std::chrono::milliseconds> retry_after(const RpcError& error);
// An error if `size` exceeds `limit`: call before sending, so that both sides enforce the limit.
std::optional<RpcError> check_size(std::size_t size, std::size_t limit = kMaxMessageBytes);

// A request id: a string or an integer (int64). Fractional numbers and null are refused on calls.
using RequestId = std::variant<std::int64_t, std::string>;
boost::json::value to_json(const RequestId& id);
// Text for logs: 7 or "abc" (a string id in JSON quotes, so 7 and "7" read differently).
std::string to_string(const RequestId& id);

struct Request {
  std::string method;
  boost::json::value params;  // an object or an array; null when the request had none
  RequestId id;
  std::string from;  // the caller's agent id; "" when absent
  // How long the caller will still wait for the answer, in ms, when it said: the callee gives up on
  // (cancels) a handler that runs longer.
  std::optional<std::int64_t> deadline_ms;
  // Set when the caller asks for streamed results (/stargate/a2a/1.1.0, docs/protocol.md "Streamed
  // results"): the bytes of frames it lets the callee send ahead of what it consumed.
  std::optional<std::uint64_t> stream_window;
};
// The longest deadline a request may carry (one day).
inline constexpr std::int64_t kMaxDeadlineMs = 24LL * 3600 * 1000;

// A request that could not be parsed: the error to answer with, and the id to answer to (nullopt =
// JSON null, when the id itself was missing or unusable).
struct RequestFailure {
  RpcError error;
  std::optional<RequestId> id;
};
[[noreturn]] void throw_exception_from_error(const RequestFailure& f, const boost::source_location&);
[[noreturn]] void throw_exception_from_error(const RpcError& e, const boost::source_location&);

struct ParseLimits {
  std::size_t max_bytes = kMaxMessageBytes;
  std::size_t max_depth = kMaxJsonDepth;
};

// Strict: a number beyond the range of a double (1e400) is a parse error, not infinity;
// `jsonrpc` must be "2.0", `method` a non-empty string, `id` a string or an integer,
// `params` an object or an array if present, `from` a string if present. Unknown members are
// ignored. Notifications (no id) are refused: every agent call expects an answer.
boost::system::result<Request, RequestFailure> parse_request(std::string_view bytes,
                                                             const ParseLimits& limits = {});

// Serialized messages. `params` null omits the member; `from` "" omits it. A double that is not
// finite (infinity, NaN: JSON has no form for them) is written as null.
std::string serialize_request(const Request& request);
std::string make_request(std::string_view method, const boost::json::value& params, const RequestId& id,
                         std::string_view from = {}, std::optional<std::int64_t> deadline_ms = std::nullopt,
                         std::optional<std::uint64_t> stream_window = std::nullopt);
// The same into `out` (its content replaced, its capacity reused: a buffer kept for the next call).
void make_request_into(std::string& out, std::string_view method, const boost::json::value& params,
                       const RequestId& id, std::string_view from = {},
                       std::optional<std::int64_t> deadline_ms = std::nullopt);
std::string make_response(const RequestId& id, const boost::json::value& result);
// id nullopt -> "id":null (JSON-RPC's answer when the request's id could not be read).
std::string make_error_response(const std::optional<RequestId>& id, const RpcError& error);

struct Response {
  std::optional<RequestId> id;  // nullopt: the peer answered with "id":null (it could not read ours)
  // The result, or the error the peer answered with.
  boost::system::result<boost::json::value, RpcError> outcome = boost::json::value();
  bool ok() const { return outcome.has_value(); }
};

// Strict: `jsonrpc` "2.0", exactly one of `result` and `error`, `error` an object with an integer
// `code` and a string `message`, `id` a string, an integer or null; numbers as parse_request reads
// them. A failure here is a local error (parse_error, invalid_request or payload_too_large) to
// report to the caller, never to send back.
boost::system::result<Response, RpcError> parse_response(std::string_view bytes,
                                                         const ParseLimits& limits = {});
// The same checks on a response already parsed (a streamed call's final frame); `root` is consumed.
boost::system::result<Response, RpcError> parse_response_value(boost::json::value&& root);

// JSON text with the codec's limits: the size first, nesting bounded, numbers finite.
boost::system::result<boost::json::value, RpcError> parse_json_bounded(std::string_view bytes,
                                                                       const ParseLimits& limits = {});
// Appends `v` as JSON text (the same text as boost::json::serialize, sized once up front).
void append_json(std::string& out, const boost::json::value& v);

// Outstanding calls of one caller, correlated by id, with deadlines (sans-IO: time is passed in).
// T is whatever the caller needs to complete the call (a promise, a callback, a coroutine handle).
template <class T>
class PendingCalls {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // A fresh integer id (never reused by this table).
  RequestId next_id() { return RequestId{next_++}; }
  // False (and nothing stored) if the id is already pending.
  bool add(const RequestId& id, TimePoint deadline, T value) {
    return calls_.try_emplace(id, Call{deadline, std::move(value)}).second;
  }
  // The pending call a response answers, removed from the table; nullopt for an unknown id or a
  // null id (a late answer after its timeout, a duplicate, or a forgery).
  std::optional<T> complete(const std::optional<RequestId>& id) {
    if (!id) return std::nullopt;
    auto it = calls_.find(*id);
    if (it == calls_.end()) return std::nullopt;
    T value = std::move(it->second.value);
    calls_.erase(it);
    return value;
  }
  // Removes and returns the calls whose deadline is at or before `now` (to fail with `timeout`).
  std::vector<std::pair<RequestId, T>> expire(TimePoint now) {
    std::vector<std::pair<RequestId, T>> out;
    for (auto it = calls_.begin(); it != calls_.end();) {
      if (it->second.deadline <= now) {
        out.emplace_back(it->first, std::move(it->second.value));
        it = calls_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  // The earliest deadline, for arming a single timer.
  std::optional<TimePoint> next_deadline() const {
    std::optional<TimePoint> best;
    for (const auto& [id, call] : calls_)
      if (!best || call.deadline < *best) best = call.deadline;
    return best;
  }
  std::size_t size() const { return calls_.size(); }
  bool empty() const { return calls_.empty(); }

 private:
  struct Call {
    TimePoint deadline;
    T value;
  };
  std::int64_t next_ = 1;
  std::map<RequestId, Call> calls_;
};

}  // namespace stargate::agent
