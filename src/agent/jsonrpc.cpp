#include "agent/jsonrpc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace stargate::agent {

namespace json = boost::json;

namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  std::string_view description;
};

constexpr CodeInfo kCodes[] = {
    {ErrorCode::parse_error, "parse_error", "parse error"},
    {ErrorCode::invalid_request, "invalid_request", "invalid request"},
    {ErrorCode::method_not_found, "method_not_found", "method not found"},
    {ErrorCode::invalid_params, "invalid_params", "invalid params"},
    {ErrorCode::internal_error, "internal_error", "internal error"},
    {ErrorCode::timeout, "timeout", "timeout"},
    {ErrorCode::unreachable, "unreachable", "unreachable peer"},
    {ErrorCode::payload_too_large, "payload_too_large", "payload too large"},
    {ErrorCode::bad_signature, "bad_signature", "bad signature"},
    {ErrorCode::replay, "replay", "replayed message"},
    {ErrorCode::forbidden, "forbidden", "forbidden"},
    {ErrorCode::unknown_session, "unknown_session", "unknown session"},
    {ErrorCode::stream_lost, "stream_lost", "stream lost"},
    {ErrorCode::task_expired, "task_expired", "task expired"},
    {ErrorCode::task_interrupted, "task_interrupted", "task interrupted"},
    {ErrorCode::rate_limited, "rate_limited", "rate limited"},
};

const CodeInfo* find_code(int code) {
  for (const auto& info : kCodes)
    if (static_cast<int>(info.code) == code) return &info;
  return nullptr;
}

RpcError invalid(std::string message) { return RpcError(ErrorCode::invalid_request, std::move(message)); }

// False if `v` holds a number beyond the range of a double: boost::json parses 1e400 as infinity,
// which no serializer can write back as JSON (boost writes "Infinity"), so a request or a result
// holding one could never be forwarded or answered. Recurses at most as deep as the parser allowed.
bool finite_numbers(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return std::isfinite(v.get_double());
    case json::kind::array:
      return std::all_of(v.get_array().begin(), v.get_array().end(), [](const json::value& x) { return finite_numbers(x); });
    case json::kind::object:
      return std::all_of(v.get_object().begin(), v.get_object().end(),
                         [](const json::key_value_pair& x) { return finite_numbers(x.value()); });
    default: return true;
  }
}

// Parses with the size limit checked first and the nesting bounded.
boost::system::result<json::value, RpcError> parse_bounded(std::string_view bytes, const ParseLimits& limits) {
  if (bytes.size() > limits.max_bytes) return payload_too_large_error(bytes.size(), limits.max_bytes);
  json::parse_options options;
  options.max_depth = limits.max_depth;
  // Strict RFC 8259: no comments, no trailing commas, valid UTF-8 only (the defaults, stated).
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;
  boost::system::error_code ec;
  json::value value = json::parse(json::string_view(bytes.data(), bytes.size()), ec, json::storage_ptr(), options);
  if (ec) {
    if (ec == json::error::too_deep)
      return RpcError(ErrorCode::parse_error, "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
    return RpcError(ErrorCode::parse_error, "invalid JSON: " + ec.message());
  }
  if (!finite_numbers(value)) return RpcError(ErrorCode::parse_error, "invalid JSON: a number beyond the range of a double");
  return value;
}

// A request/response id: a string or an integer that fits int64. Null is handled by the callers.
std::optional<RequestId> read_id(const json::value& v) {
  if (v.is_string()) return RequestId{std::string(v.get_string())};
  if (v.is_int64()) return RequestId{v.get_int64()};
  return std::nullopt;  // null, fractional, above int64 (uint64: refused, not truncated), or not a scalar
}

void check_version(const json::object& obj, std::optional<RpcError>& error) {
  const json::value* version = obj.if_contains("jsonrpc");
  if (!version) {
    error = invalid("missing \"jsonrpc\" member (must be \"2.0\")");
  } else if (!version->is_string() || version->get_string() != "2.0") {
    error = invalid("\"jsonrpc\" must be the string \"2.0\"");
  }
}

}  // namespace

std::string_view error_name(int code) {
  const CodeInfo* info = find_code(code);
  return info ? info->name : std::string_view();
}

std::string_view describe(int code) {
  if (const CodeInfo* info = find_code(code)) return info->description;
  if (code >= -32099 && code <= -32000) return "server error";
  return "application error";
}

std::string RpcError::to_string() const {
  std::string out(describe(code));
  out += " (" + std::to_string(code) + ")";
  if (!message.empty()) out += ": " + message;
  return out;
}

json::object RpcError::to_json() const {
  json::object obj;
  obj["code"] = code;
  obj["message"] = message;
  if (!data.is_null()) obj["data"] = data;
  return obj;
}

RpcError payload_too_large_error(std::size_t size, std::size_t limit) {
  json::object data;
  data["size"] = static_cast<std::uint64_t>(size);
  data["limit"] = static_cast<std::uint64_t>(limit);
  return RpcError(ErrorCode::payload_too_large,
                  "message of " + std::to_string(size) + " bytes exceeds the limit of " + std::to_string(limit) + " bytes",
                  std::move(data));
}

RpcError rate_limited_error(std::chrono::milliseconds retry_after) {
  json::object data;
  data["retry_after_ms"] = static_cast<std::int64_t>(retry_after.count());
  return RpcError(ErrorCode::rate_limited, "rate limited; retry after " + std::to_string(retry_after.count()) + " ms",
                  std::move(data));
}

std::optional<std::chrono::milliseconds> retry_after(const RpcError& error) {
  if (!error.is(ErrorCode::rate_limited) || !error.data.is_object()) return std::nullopt;
  const json::value* v = error.data.get_object().if_contains("retry_after_ms");
  if (!v) return std::nullopt;
  if (!v->is_int64() || v->get_int64() < 0) return std::nullopt;
  return std::chrono::milliseconds(v->get_int64());
}

std::optional<RpcError> check_size(std::size_t size, std::size_t limit) {
  if (size > limit) return payload_too_large_error(size, limit);
  return std::nullopt;
}

json::value to_json(const RequestId& id) {
  if (const auto* n = std::get_if<std::int64_t>(&id)) return *n;
  return json::string(std::get<std::string>(id));
}

std::string to_string(const RequestId& id) { return json::serialize(to_json(id)); }

void throw_exception_from_error(const RequestFailure& f, const boost::source_location&) {
  throw ErrorException(f.error.to_string());
}
void throw_exception_from_error(const RpcError& e, const boost::source_location&) {
  throw ErrorException(e.to_string());
}

boost::system::result<Request, RequestFailure> parse_request(std::string_view bytes, const ParseLimits& limits) {
  auto parsed = parse_bounded(bytes, limits);
  if (!parsed) return RequestFailure{std::move(parsed).error(), std::nullopt};
  json::value& root = *parsed;
  if (!root.is_object()) {
    // Batches are not part of the agent protocol: one call, one answer.
    return RequestFailure{invalid(root.is_array() ? "batch requests are not supported" : "a request must be a JSON object"),
                          std::nullopt};
  }
  json::object& obj = root.get_object();

  // The id first, so that every later error can be answered to it.
  std::optional<RequestId> id;
  std::optional<RpcError> error;
  const json::value* id_value = obj.if_contains("id");
  if (!id_value) {
    error = invalid("missing \"id\" (notifications are not supported)");
  } else if (id_value->is_null()) {
    error = invalid("\"id\" must not be null");
  } else if (!(id = read_id(*id_value))) {
    error = invalid("\"id\" must be a string or an integer between -2^63 and 2^63-1");
  }
  if (error) return RequestFailure{std::move(*error), std::nullopt};

  check_version(obj, error);
  if (error) return RequestFailure{std::move(*error), id};

  Request request;
  request.id = std::move(*id);
  const json::value* method = obj.if_contains("method");
  if (!method) return RequestFailure{invalid("missing \"method\""), request.id};
  if (!method->is_string()) return RequestFailure{invalid("\"method\" must be a string"), request.id};
  if (method->get_string().empty()) return RequestFailure{invalid("\"method\" must not be empty"), request.id};
  request.method = std::string(method->get_string());

  if (json::value* params = obj.if_contains("params")) {
    if (!params->is_object() && !params->is_array())
      return RequestFailure{invalid("\"params\" must be an object or an array"), request.id};
    request.params = std::move(*params);
  }
  if (const json::value* from = obj.if_contains("from")) {
    if (!from->is_string()) return RequestFailure{invalid("\"from\" must be a string"), request.id};
    request.from = std::string(from->get_string());
  }
  if (const json::value* deadline = obj.if_contains("deadline_ms")) {
    if (!deadline->is_int64() || deadline->get_int64() < 0 || deadline->get_int64() > kMaxDeadlineMs)
      return RequestFailure{invalid("\"deadline_ms\" must be an integer between 0 and " + std::to_string(kMaxDeadlineMs)),
                            request.id};
    request.deadline_ms = deadline->get_int64();
  }
  if (const json::value* stream = obj.if_contains("stream")) {
    const json::value* window = stream->is_object() ? stream->get_object().if_contains("window") : nullptr;
    if (!window || !window->is_int64() || window->get_int64() <= 0)
      return RequestFailure{invalid("\"stream\" must be {\"window\": bytes above 0}"), request.id};
    request.stream_window = static_cast<std::uint64_t>(window->get_int64());
  }
  return request;
}

namespace {

// Below this depth the serializer below recurses; deeper values (a handler may build anything) go
// through boost's serializer, which keeps its own stack.
constexpr std::size_t kRecursionDepth = kMaxJsonDepth;

// About the serialized size of `v` (exact without escapes; numbers counted generously).
std::size_t estimated_size(const json::value& v, std::size_t depth = 0) {
  if (depth > kRecursionDepth) return 64;  // only a hint for reserve()
  switch (v.kind()) {
    case json::kind::string: return v.get_string().size() + 2;
    case json::kind::array: {
      std::size_t n = 2;
      for (const auto& item : v.get_array()) n += estimated_size(item, depth + 1) + 1;
      return n;
    }
    case json::kind::object: {
      std::size_t n = 2;
      for (const auto& [key, item] : v.get_object()) n += key.size() + 4 + estimated_size(item, depth + 1);
      return n;
    }
    default: return 24;
  }
}

// The first byte at or after `p` that a JSON string must escape ('"', '\\', or below 0x20), or `end`.
const char* find_escape_portable(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1f);
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, control_max), v);  // v <= 0x1f, unsigned
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
    if (const int mask = _mm_movemask_epi8(hit); mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
#endif
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == '"' || c == '\\') return p;
  }
  return end;
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same, 32 bytes at a time, for CPUs with AVX2 (chosen at run time).
__attribute__((target("avx2"))) const char* find_escape_avx2(const char* p, const char* end) {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i control_max = _mm256_set1_epi8(0x1f);
  for (; end - p >= 32; p += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, control_max), v);
    const __m256i hit =
        _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)), control);
    if (const int mask = _mm256_movemask_epi8(hit); mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return find_escape_portable(p, end);
}

const char* find_escape(const char* p, const char* end) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2 ? find_escape_avx2(p, end) : find_escape_portable(p, end);
}
#else
const char* find_escape(const char* p, const char* end) { return find_escape_portable(p, end); }
#endif

// Params and results are serialized here rather than by boost::json::serialize because a call's
// payload is usually one long string, and boost's serializer checks it a byte at a time
// (boost::json::serialize of {"d": <64 KiB>} took ~105 µs at -O2 on the 2-CPU dev machine, under
// load; this, ~2-10 µs), on the critical path twice per call (docs/benchmarks.md, NATS). Only strings are
// ours; numbers, literals and anything nested deeper than kRecursionDepth stay boost's, and the
// output is byte for byte boost's (SerializedLikeBoostJsonForEveryByteAndKind).
//
// `text` as a JSON string, escaped as boost::json escapes (\", \\, \b \f \n \r \t, other control
// bytes as \u00xx; everything else, UTF-8 included, as is). Runs without escapes are appended
// whole: one pass, no intermediate buffer.
void append_escaped(std::string& out, std::string_view text) {
  out.push_back('"');
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p != end) {
    // A block at a time, so that what was scanned is still in L1 when it is copied.
    const char* block_end = end - p > 4096 ? p + 4096 : end;
    const char* q = find_escape(p, block_end);
    out.append(p, q);
    if (q == block_end && q != end) {
      p = q;
      continue;
    }
    if (q == end) break;
    const auto c = static_cast<unsigned char>(*q);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(u, sizeof u);
      }
    }
    p = q + 1;
  }
  out.push_back('"');
}

// `v` through boost's serializer (numbers in its format; any depth), a chunk at a time.
void append_with_boost(std::string& out, const json::value& v) {
  json::serializer serializer;
  serializer.reset(&v);
  char buffer[512];
  while (!serializer.done()) {
    auto chunk = serializer.read(buffer, sizeof buffer);
    out.append(chunk.data(), chunk.size());
  }
}

void append_value(std::string& out, const json::value& v, std::size_t depth) {
  if (depth > kRecursionDepth) return append_with_boost(out, v);
  switch (v.kind()) {
    case json::kind::string:
      append_escaped(out, v.get_string());
      return;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, item, depth + 1);
      }
      out.push_back(']');
      return;
    }
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_escaped(out, key);
        out.push_back(':');
        append_value(out, item, depth + 1);
      }
      out.push_back('}');
      return;
    }
    case json::kind::double_:
      // Infinity and NaN (which only a handler can produce: the parsers refuse them) have no JSON
      // form: written as null, as JSON.stringify does, so that the message stays valid JSON.
      if (!std::isfinite(v.get_double())) {
        out += "null";
        return;
      }
      return append_with_boost(out, v);
    default:
      append_with_boost(out, v);
  }
}

// Appends `v`, serialized, to `out`: written straight into its buffer, so that a large params or
// result is neither copied into a document first nor serialized into a string of its own. The
// buffer is sized once, up front: growing it step by step would copy a large payload several
// times (and the last steps of a 64 KiB one are mmap-sized allocations, page-faulted at every
// call), and nothing is zero-filled before it is written. The same text as json::serialize.
void append_json_string(std::string& out, std::string_view text) { append_escaped(out, text); }

// {"jsonrpc":"2.0","method":…,"params":…,"id":…,"from":…}, fields in this order (params when not
// null, from when not empty).
void compose_request(std::string& out, std::string_view method, const json::value& params, const RequestId& id,
                     std::string_view from, std::optional<std::int64_t> deadline_ms,
                     std::optional<std::uint64_t> stream_window = std::nullopt) {
  out.clear();
  out.reserve(160 + 6 * (method.size() + from.size()) + (params.is_null() ? 0 : estimated_size(params)));
  out += R"({"jsonrpc":"2.0","method":)";
  append_json_string(out, method);
  if (!params.is_null()) {
    out += R"(,"params":)";
    append_json(out, params);
  }
  out += R"(,"id":)";
  append_json(out, to_json(id));
  if (!from.empty()) {
    out += R"(,"from":)";
    append_json_string(out, from);
  }
  if (deadline_ms) {
    out += R"(,"deadline_ms":)";
    out += std::to_string(*deadline_ms);
  }
  if (stream_window) {
    out += R"(,"stream":{"window":)";
    out += std::to_string(*stream_window);
    out += '}';
  }
  out += '}';
}

}  // namespace

void append_json(std::string& out, const json::value& v) {
  out.reserve(out.size() + estimated_size(v) + 64);
  append_value(out, v, 0);
}

boost::system::result<json::value, RpcError> parse_json_bounded(std::string_view bytes, const ParseLimits& limits) {
  return parse_bounded(bytes, limits);
}

std::string serialize_request(const Request& request) {
  std::string out;
  compose_request(out, request.method, request.params, request.id, request.from, request.deadline_ms,
                  request.stream_window);
  return out;
}

std::string make_request(std::string_view method, const json::value& params, const RequestId& id, std::string_view from,
                         std::optional<std::int64_t> deadline_ms, std::optional<std::uint64_t> stream_window) {
  std::string out;
  compose_request(out, method, params, id, from, deadline_ms, stream_window);
  return out;
}

void make_request_into(std::string& out, std::string_view method, const json::value& params, const RequestId& id,
                       std::string_view from, std::optional<std::int64_t> deadline_ms) {
  compose_request(out, method, params, id, from, deadline_ms);
}

std::string make_response(const RequestId& id, const json::value& result) {
  std::string out;
  out.reserve(64);
  out += R"({"jsonrpc":"2.0","result":)";
  append_json(out, result);
  out += R"(,"id":)";
  append_json(out, to_json(id));
  out += '}';
  return out;
}

std::string make_error_response(const std::optional<RequestId>& id, const RpcError& error) {
  std::string out;
  out += R"({"jsonrpc":"2.0","error":)";
  append_json(out, error.to_json());
  out += R"(,"id":)";
  append_json(out, id ? to_json(*id) : json::value(nullptr));
  out += '}';
  return out;
}

boost::system::result<Response, RpcError> parse_response(std::string_view bytes, const ParseLimits& limits) {
  auto parsed = parse_bounded(bytes, limits);
  if (!parsed) return std::move(parsed).error();
  return parse_response_value(std::move(*parsed));
}

boost::system::result<Response, RpcError> parse_response_value(json::value&& root) {
  if (!root.is_object()) return invalid("a response must be a JSON object");
  json::object& obj = root.get_object();
  std::optional<RpcError> error;
  check_version(obj, error);
  if (error) return std::move(*error);

  Response response;
  const json::value* id_value = obj.if_contains("id");
  if (!id_value) return invalid("response without \"id\"");
  if (!id_value->is_null()) {
    response.id = read_id(*id_value);
    if (!response.id) return invalid("response \"id\" must be a string, an integer or null");
  }

  json::value* result = obj.if_contains("result");
  const json::value* err = obj.if_contains("error");
  if (result && err) return invalid("response has both \"result\" and \"error\"");
  if (!result && !err) return invalid("response has neither \"result\" nor \"error\"");
  if (result) {
    response.outcome = std::move(*result);
    return response;
  }
  if (!err->is_object()) return invalid("response \"error\" must be an object");
  const json::object& e = err->get_object();
  const json::value* code = e.if_contains("code");
  const json::value* message = e.if_contains("message");
  if (!code || !code->is_int64() || code->get_int64() < std::numeric_limits<int>::min() ||
      code->get_int64() > std::numeric_limits<int>::max())
    return invalid("response \"error.code\" must be an integer");
  if (!message || !message->is_string()) return invalid("response \"error.message\" must be a string");
  RpcError remote(static_cast<int>(code->get_int64()), std::string(message->get_string()));
  if (const json::value* data = e.if_contains("data")) remote.data = *data;
  response.outcome = std::move(remote);
  return response;
}

}  // namespace stargate::agent
