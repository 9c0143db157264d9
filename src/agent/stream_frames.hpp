#pragma once
// The frames of a streamed call (docs/protocol.md, "Streamed results"), the same on every tier:
// on /stargate/a2a/1.1.0 each is one uvarint-length-prefixed JSON text, over NATS each is the
// plaintext of one sealed message. Sans-IO.
//
// Callee to caller, numbered from 1 with no gaps:
//   {"seq":3,"partial":<any JSON value>}
//   {"seq":4,"jsonrpc":"2.0","result":…,"id":…}      the final frame: the JSON-RPC response
// Caller to callee:
//   a JSON-RPC request with "stream":{"window":W}    opens the stream (the first frame)
//   {"resume":"<call id>","from":"<agent id>","after":N,"window":W}
//                                                    re-attaches, from any tier: frames after N
//   {"id":"<call id>","ack":N}                       consumed through N: the window opens again
//   {"id":"<call id>","cancel":true}                 stops the handler
//
// Flow control is by credit: the callee keeps at most W bytes of frame text unacknowledged (a
// partial always goes when none is outstanding; the final frame is bounded by kMaxMessageBytes
// instead), so a slow consumer slows the producer on every tier, and both sides hold at most W
// bytes of partials for it. The frames the caller has not acknowledged are the ones kept for a
// resume.
#include "agent/jsonrpc.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace stargate::agent {

// The largest partial frame, serialized: larger ones are refused by the sender (the handler's
// send() throws payload_too_large) and by the receiver.
inline constexpr std::size_t kMaxPartialBytes = 1024 * 1024;
// The window a caller offers by default, and the range a callee accepts (clamped into it): at
// least two of the largest partials, so the credit rule never stalls a stream.
inline constexpr std::uint64_t kDefaultStreamWindow = 4 * 1024 * 1024;
inline constexpr std::uint64_t kMinStreamWindow = 2 * kMaxPartialBytes;
inline constexpr std::uint64_t kMaxStreamWindow = 16 * 1024 * 1024;
std::uint64_t clamp_stream_window(std::uint64_t window);

// Callee to caller.
void append_partial_frame(std::string& out, std::uint64_t seq, const boost::json::value& partial);
// `response` is a serialized JSON-RPC response object ({"jsonrpc":…}).
std::string make_final_frame(std::uint64_t seq, std::string_view response);

struct CalleeFrame {
  std::uint64_t seq = 0;
  std::optional<boost::json::value> partial;  // a partial result, or else
  std::optional<Response> final;              // the final response
};
// Strict: an object with a positive integer "seq" and either "partial" or a JSON-RPC response.
boost::system::result<CalleeFrame, RpcError> parse_callee_frame(std::string_view text);
// The sequence number of a partial frame as append_partial_frame writes it ({"seq":N,"partial":…),
// read without parsing the rest; nullopt for anything else.
std::optional<std::uint64_t> peek_partial_seq(std::string_view text);

// Caller to callee, after (or instead of) the opening request.
struct StreamResume {
  std::string call_id;
  std::string from;
  std::uint64_t after = 0;
  std::uint64_t window = kDefaultStreamWindow;
};
struct StreamAck {
  std::string call_id;
  std::uint64_t consumed = 0;
};
struct StreamCancel {
  std::string call_id;
};
using CallerFrame = std::variant<StreamResume, StreamAck, StreamCancel>;

std::string make_resume_frame(const StreamResume& resume);
std::string make_ack_frame(std::string_view call_id, std::uint64_t consumed);
std::string make_cancel_frame(std::string_view call_id);
boost::system::result<CallerFrame, RpcError> parse_caller_frame(std::string_view text);

// The first frame of a stream on /stargate/a2a/1.1.0: a request (streamed when it carries a
// window, unary otherwise) or a resume.
using StreamOpening = std::variant<boost::system::result<Request, RequestFailure>, StreamResume>;
StreamOpening parse_stream_opening(std::string_view text);

}  // namespace stargate::agent
