#include "agent/stream_frames.hpp"

#include <algorithm>

namespace stargate::agent {

namespace json = boost::json;

namespace {

// Caller frames are small: anything larger is not one.
constexpr std::size_t kMaxCallerFrameBytes = 1024;

RpcError bad_frame(std::string what) { return RpcError(ErrorCode::invalid_request, "stream frame: " + std::move(what)); }

void append_json_string_value(std::string& out, std::string_view text) { append_json(out, json::string(text)); }

std::optional<std::uint64_t> positive(const json::value* v) {
  if (!v || !v->is_int64() || v->get_int64() <= 0) return std::nullopt;
  return static_cast<std::uint64_t>(v->get_int64());
}

std::optional<std::string> call_id_of(const json::object& obj, const char* key) {
  const json::value* id = obj.if_contains(key);
  if (!id || !id->is_string() || id->get_string().empty() || id->get_string().size() > 128) return std::nullopt;
  return std::string(id->get_string());
}

}  // namespace

std::uint64_t clamp_stream_window(std::uint64_t window) { return std::clamp(window, kMinStreamWindow, kMaxStreamWindow); }

void append_partial_frame(std::string& out, std::uint64_t seq, const json::value& partial) {
  out += R"({"seq":)";
  out += std::to_string(seq);
  out += R"(,"partial":)";
  append_json(out, partial);
  out += '}';
}

std::string make_final_frame(std::uint64_t seq, std::string_view response) {
  // The response's own members follow "seq" in the same object: no second serialization.
  std::string out;
  out.reserve(response.size() + 24);
  out += R"({"seq":)";
  out += std::to_string(seq);
  if (response.size() > 2) out += ',';
  out.append(response.substr(std::min<std::size_t>(1, response.size())));
  return out;
}

boost::system::result<CalleeFrame, RpcError> parse_callee_frame(std::string_view text) {
  auto parsed = parse_json_bounded(text);
  if (!parsed) return std::move(parsed).error();
  if (!parsed->is_object()) return bad_frame("not a JSON object");
  json::object& obj = parsed->get_object();
  CalleeFrame frame;
  auto seq = positive(obj.if_contains("seq"));
  if (!seq) return bad_frame("\"seq\" must be an integer above 0");
  frame.seq = *seq;
  if (json::value* partial = obj.if_contains("partial")) {
    if (text.size() > kMaxPartialBytes) return payload_too_large_error(text.size(), kMaxPartialBytes);
    frame.partial = std::move(*partial);
    return frame;
  }
  obj.erase("seq");
  auto response = parse_response_value(std::move(*parsed));
  if (!response) return std::move(response).error();
  frame.final = std::move(*response);
  return frame;
}

std::optional<std::uint64_t> peek_partial_seq(std::string_view text) {
  constexpr std::string_view head = R"({"seq":)";
  constexpr std::string_view tail = R"(,"partial":)";
  if (text.substr(0, head.size()) != head) return std::nullopt;
  std::uint64_t seq = 0;
  std::size_t i = head.size();
  for (; i < text.size() && i < head.size() + 19 && text[i] >= '0' && text[i] <= '9'; ++i) seq = seq * 10 + (text[i] - '0');
  if (i == head.size() || seq == 0 || text.substr(i, tail.size()) != tail) return std::nullopt;
  return seq;
}

std::string make_resume_frame(const StreamResume& resume) {
  std::string out = R"({"resume":)";
  append_json_string_value(out, resume.call_id);
  out += R"(,"from":)";
  append_json_string_value(out, resume.from);
  out += R"(,"after":)" + std::to_string(resume.after) + R"(,"window":)" + std::to_string(resume.window) + "}";
  return out;
}

std::string make_ack_frame(std::string_view call_id, std::uint64_t consumed) {
  std::string out = R"({"id":)";
  append_json_string_value(out, call_id);
  out += R"(,"ack":)" + std::to_string(consumed) + "}";
  return out;
}

std::string make_cancel_frame(std::string_view call_id) {
  std::string out = R"({"id":)";
  append_json_string_value(out, call_id);
  out += R"(,"cancel":true})";
  return out;
}

boost::system::result<CallerFrame, RpcError> parse_caller_frame(std::string_view text) {
  if (text.size() > kMaxCallerFrameBytes) return payload_too_large_error(text.size(), kMaxCallerFrameBytes);
  auto parsed = parse_json_bounded(text);
  if (!parsed) return std::move(parsed).error();
  if (!parsed->is_object()) return bad_frame("not a JSON object");
  const json::object& obj = parsed->get_object();
  if (obj.contains("resume")) {
    StreamResume resume;
    auto id = call_id_of(obj, "resume");
    const json::value* from = obj.if_contains("from");
    const json::value* after = obj.if_contains("after");
    auto window = positive(obj.if_contains("window"));
    if (!id || !from || !from->is_string() || !after || !after->is_int64() || after->get_int64() < 0 || !window)
      return bad_frame("a resume needs \"resume\" (the call ID), \"from\", \"after\" (>= 0) and \"window\" (> 0)");
    resume.call_id = std::move(*id);
    resume.from = std::string(from->get_string());
    resume.after = static_cast<std::uint64_t>(after->get_int64());
    resume.window = *window;
    return CallerFrame(std::move(resume));
  }
  auto id = call_id_of(obj, "id");
  if (!id) return bad_frame("\"id\" must be the call ID");
  if (const json::value* ack = obj.if_contains("ack")) {
    if (!ack->is_int64() || ack->get_int64() < 0) return bad_frame("\"ack\" must be an integer >= 0");
    return CallerFrame(StreamAck{std::move(*id), static_cast<std::uint64_t>(ack->get_int64())});
  }
  if (const json::value* cancel = obj.if_contains("cancel"); cancel && cancel->is_bool() && cancel->get_bool())
    return CallerFrame(StreamCancel{std::move(*id)});
  return bad_frame("neither \"resume\", \"ack\" nor \"cancel\"");
}

StreamOpening parse_stream_opening(std::string_view text) {
  // A resume is small and names itself; anything else is parsed (once) as a request.
  if (text.size() <= kMaxCallerFrameBytes && text.find("\"resume\"") != std::string_view::npos) {
    auto frame = parse_caller_frame(text);
    if (frame && std::holds_alternative<StreamResume>(*frame)) return std::get<StreamResume>(std::move(*frame));
  }
  return parse_request(text);
}

}  // namespace stargate::agent
