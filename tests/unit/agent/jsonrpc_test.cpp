#include "agent/jsonrpc.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace stargate::agent {
namespace {

namespace json = boost::json;

int code_of(std::string_view bytes) {
  auto r = parse_request(bytes);
  EXPECT_FALSE(r.has_value()) << bytes;
  return r ? 0 : r.error().error.code;
}

constexpr int kInvalid = static_cast<int>(ErrorCode::invalid_request);
constexpr int kParse = static_cast<int>(ErrorCode::parse_error);

TEST(JsonRpc, RequestRoundTrip) {
  json::object params;
  params["query"] = "best restaurants in Berlin";
  std::string text = make_request("search", params, RequestId{std::string("req-12345")},
                                  "231cfb892e800b2602b69deab977a76c");
  auto r = parse_request(text);
  ASSERT_TRUE(r.has_value()) << r.error().error.to_string();
  EXPECT_EQ(r->method, "search");
  EXPECT_EQ(r->params, json::value(params));
  EXPECT_EQ(r->id, RequestId{std::string("req-12345")});
  EXPECT_EQ(r->from, "231cfb892e800b2602b69deab977a76c");
  EXPECT_EQ(serialize_request(*r), text);

  // Integer id, array params, no from.
  auto r2 = parse_request(R"({"jsonrpc":"2.0","method":"add","params":[1,2],"id":-7})");
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->id, RequestId{std::int64_t{-7}});
  EXPECT_TRUE(r2->params.is_array());
  EXPECT_EQ(r2->from, "");
  // No params at all.
  auto r3 = parse_request(R"({"jsonrpc":"2.0","method":"ping","id":0})");
  ASSERT_TRUE(r3.has_value());
  EXPECT_TRUE(r3->params.is_null());
  EXPECT_EQ(serialize_request(*r3), R"({"jsonrpc":"2.0","method":"ping","id":0})");
}

// Requests and responses are composed without building a document around params / result: the
// bytes must be what serializing that document gives, also for large values full of escapes.
TEST(JsonRpc, ComposedMessagesEqualTheSerializedDocument) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "a\"\\\n\x01\xc3\xa9"[i % 7];
  json::value params = json::object{{"d", big}, {"n", 7}, {"list", json::array{1, "two", nullptr}}};
  std::string method = "m\"ethod";
  std::string from = "f\\rom";

  json::object request{{"jsonrpc", "2.0"}, {"method", method}, {"params", params}, {"id", "id-1"}, {"from", from}};
  auto text = make_request(method, params, RequestId{std::string("id-1")}, from);
  EXPECT_EQ(text, json::serialize(request));
  auto parsed = parse_request(text);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->params, params);
  EXPECT_EQ(parsed->method, method);
  EXPECT_EQ(parsed->from, from);

  json::object no_params{{"jsonrpc", "2.0"}, {"method", "x"}, {"id", 3}};
  EXPECT_EQ(make_request("x", nullptr, RequestId{std::int64_t{3}}, ""), json::serialize(no_params));

  json::object response{{"jsonrpc", "2.0"}, {"result", params}, {"id", -4}};
  EXPECT_EQ(make_response(RequestId{std::int64_t{-4}}, params), json::serialize(response));

  // Into a kept buffer: the same bytes, whatever it held before.
  std::string buffer(100'000, '#');
  make_request_into(buffer, method, params, RequestId{std::string("id-1")}, from);
  EXPECT_EQ(buffer, text);
  make_request_into(buffer, "x", nullptr, RequestId{std::int64_t{3}}, "", 250);
  EXPECT_EQ(buffer, R"({"jsonrpc":"2.0","method":"x","id":3,"deadline_ms":250})");
}

// Every ASCII byte, escapes at every offset of a 16-byte block, every scalar kind, escaped keys,
// and nesting deeper than the serializer recurses: the same text as boost::json.
TEST(JsonRpc, SerializedLikeBoostJsonForEveryByteAndKind) {
  std::string all;
  for (int c = 0; c < 128; ++c) all.push_back(static_cast<char>(c));
  all += "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // UTF-8 goes through as is (the parser wants it valid)
  json::array strings;
  for (std::size_t n = 0; n < 40; ++n) {
    std::string s(n, 'x');
    if (n > 0) s[n - 1] = static_cast<char>(n % 3 == 0 ? '"' : n % 3 == 1 ? '\\' : '\x1f');
    strings.push_back(json::string(s));
  }
  json::value deep = json::array{"leaf\n"};
  for (int i = 0; i < 200; ++i) deep = json::object{{"k\"" + std::to_string(i), deep}, {"i", i}};
  json::value result = json::object{{"all", all},
                                    {"strings", strings},
                                    {"d\tkey", 1.5},
                                    {"big", std::uint64_t{18446744073709551615u}},
                                    {"neg", std::int64_t{-9223372036854775807 - 1}},
                                    {"tiny", 1e-300},
                                    {"t", true},
                                    {"f", false},
                                    {"z", nullptr},
                                    {"e", json::object{}},
                                    {"ea", json::array{}},
                                    {"deep", deep}};
  json::object response{{"jsonrpc", "2.0"}, {"result", result}, {"id", "x"}};
  auto text = make_response(RequestId{std::string("x")}, result);
  EXPECT_EQ(text, json::serialize(response));
  auto back = parse_response(text, ParseLimits{kMaxMessageBytes, 1000});
  ASSERT_TRUE(back.has_value());
  ASSERT_TRUE(back->outcome.has_value());
  EXPECT_EQ(*back->outcome, result);
}

TEST(JsonRpc, ResponseRoundTrip) {
  json::value result = json::parse(R"({"results":["a","b"]})");
  auto ok = parse_response(make_response(RequestId{std::int64_t{42}}, result));
  ASSERT_TRUE(ok.has_value());
  ASSERT_TRUE(ok->ok());
  EXPECT_EQ(ok->id, RequestId{std::int64_t{42}});
  EXPECT_EQ(*ok->outcome, result);

  json::value null_result;  // a null result is still a result
  auto ok_null = parse_response(make_response(RequestId{std::string("x")}, null_result));
  ASSERT_TRUE(ok_null.has_value());
  EXPECT_TRUE(ok_null->ok());

  RpcError err(ErrorCode::method_not_found, "no handler for \"foo\"", json::parse(R"({"method":"foo"})"));
  auto failed = parse_response(make_error_response(RequestId{std::string("abc")}, err));
  ASSERT_TRUE(failed.has_value());
  ASSERT_FALSE(failed->ok());
  EXPECT_EQ(failed->id, RequestId{std::string("abc")});
  EXPECT_TRUE(failed->outcome.error().is(ErrorCode::method_not_found));
  EXPECT_EQ(failed->outcome.error().message, "no handler for \"foo\"");
  EXPECT_EQ(failed->outcome.error().data, err.data);

  auto null_id = parse_response(make_error_response(std::nullopt, RpcError(ErrorCode::parse_error, "bad")));
  ASSERT_TRUE(null_id.has_value());
  EXPECT_FALSE(null_id->id.has_value());
  EXPECT_EQ(make_error_response(std::nullopt, RpcError(ErrorCode::parse_error, "bad")),
            R"({"jsonrpc":"2.0","error":{"code":-32700,"message":"bad"},"id":null})");
}

TEST(JsonRpc, MalformedResponses) {
  for (const char* bad : {
           R"([])",
           R"({"result":1,"id":1})",
           R"({"jsonrpc":"2.0","result":1})",
           R"({"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"x"},"id":1})",
           R"({"jsonrpc":"2.0","id":1})",
           R"({"jsonrpc":"2.0","error":"boom","id":1})",
           R"({"jsonrpc":"2.0","error":{"code":1.5,"message":"x"},"id":1})",
           R"({"jsonrpc":"2.0","error":{"code":1},"id":1})",
           R"({"jsonrpc":"2.0","result":1,"id":1.5})",
       }) {
    auto r = parse_response(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_TRUE(r.error().is(ErrorCode::invalid_request)) << bad;
  }
  EXPECT_TRUE(parse_response("{").error().is(ErrorCode::parse_error));
}

// Found by fuzz_jsonrpc: boost::json reads 1e400 as infinity and writes it back as "Infinity", which
// is not JSON, so a request forwarded or a result answered with it could never be parsed.
TEST(JsonRpc, NumbersBeyondTheRangeOfADoubleAreRefused) {
  for (const char* number : {"1e400", "-1e400", "1E309", "[0,{\"x\":-2e308}]"}) {
    const std::string request = std::string(R"({"jsonrpc":"2.0","method":"m","params":[)") + number + R"(],"id":1})";
    EXPECT_EQ(code_of(request), kParse) << request;
    const std::string response = std::string(R"({"jsonrpc":"2.0","result":)") + number + R"(,"id":1})";
    auto r = parse_response(response);
    ASSERT_FALSE(r.has_value()) << response;
    EXPECT_TRUE(r.error().is(ErrorCode::parse_error)) << response;
  }
  // The largest doubles and underflow to zero are numbers like any other.
  auto r = parse_request(R"({"jsonrpc":"2.0","method":"m","params":[1.7976931348623157e308,-1e308,1e-400],"id":1})");
  ASSERT_TRUE(r.has_value()) << r.error().error.to_string();
  auto again = parse_request(serialize_request(*r));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->params, r->params);
}

// What a handler builds may hold infinity or NaN: every message is still JSON (null in their place).
TEST(JsonRpc, NonFiniteNumbersAreWrittenAsNull) {
  const double inf = std::numeric_limits<double>::infinity();
  const json::value odd = json::array{inf, -inf, std::numeric_limits<double>::quiet_NaN(), 1.5};
  const json::value nulls = json::array{nullptr, nullptr, nullptr, 1.5};

  auto response = parse_response(make_response(RequestId{std::int64_t{1}}, odd));
  ASSERT_TRUE(response.has_value()) << response.error().to_string();
  EXPECT_EQ(*response->outcome, nulls);

  auto error = parse_response(make_error_response(RequestId{std::string("x")}, RpcError(-1, "odd", odd)));
  ASSERT_TRUE(error.has_value()) << error.error().to_string();
  EXPECT_EQ(error->outcome.error().data, nulls);

  auto request = parse_request(make_request("m", json::object{{"x", odd}}, RequestId{std::int64_t{2}}));
  ASSERT_TRUE(request.has_value()) << request.error().error.to_string();
  EXPECT_EQ(request->params, json::value(json::object{{"x", nulls}}));

  // Finite values: the very text boost::json writes, for error responses too.
  const RpcError finite(ErrorCode::invalid_params, "bad \"x\"\n", json::object{{"d", 2.5}, {"n", -3}});
  json::object expected{{"jsonrpc", "2.0"}, {"error", finite.to_json()}, {"id", nullptr}};
  EXPECT_EQ(make_error_response(std::nullopt, finite), json::serialize(expected));
}

TEST(JsonRpc, MalformedRequestsGetThePreciseCode) {
  EXPECT_EQ(code_of(""), kParse);
  EXPECT_EQ(code_of("{"), kParse);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":1,})"), kParse);  // trailing comma
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0",/*c*/"method":"m","id":1})"), kParse);  // comment
  EXPECT_EQ(code_of("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\",\"id\":1}"), kParse);  // invalid UTF-8

  EXPECT_EQ(code_of("42"), kInvalid);
  EXPECT_EQ(code_of(R"([{"jsonrpc":"2.0","method":"m","id":1}])"), kInvalid);  // batch
  EXPECT_EQ(code_of(R"({"method":"m","id":1})"), kInvalid);                   // no jsonrpc
  EXPECT_EQ(code_of(R"({"jsonrpc":"1.0","method":"m","id":1})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":2.0,"method":"m","id":1})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","id":1})"), kInvalid);                // no method
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"","id":1})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":5,"id":1})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m"})"), kInvalid);          // notification
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":null})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":1.5})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":18446744073709551615})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":[1]})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":1,"params":"x"})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":1,"params":3})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":1,"params":null})"), kInvalid);
  EXPECT_EQ(code_of(R"({"jsonrpc":"2.0","method":"m","id":1,"from":7})"), kInvalid);
}

TEST(JsonRpc, FailureCarriesTheIdWhenReadable) {
  auto r = parse_request(R"({"jsonrpc":"2.0","method":"","id":"call-9"})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().id, RequestId{std::string("call-9")});
  auto r2 = parse_request(R"({"jsonrpc":"1.0","method":"m","id":9})");
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().id, RequestId{std::int64_t{9}});
  auto r3 = parse_request(R"({"jsonrpc":"2.0","method":"m","id":null})");
  ASSERT_FALSE(r3.has_value());
  EXPECT_FALSE(r3.error().id.has_value());
  // The error response built from a failure answers to that id.
  auto resp = parse_response(make_error_response(r.error().id, r.error().error));
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->id, RequestId{std::string("call-9")});
  EXPECT_TRUE(resp->outcome.error().is(ErrorCode::invalid_request));
}

TEST(JsonRpc, OversizedIsRefusedBeforeParsing) {
  // Not JSON at all: a parse would say parse_error, so payload_too_large proves no parse happened.
  std::string big(kMaxMessageBytes + 1, '{');
  auto r = parse_request(big);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().error.is(ErrorCode::payload_too_large));
  EXPECT_EQ(r.error().error.data.at("size").to_number<std::uint64_t>(), kMaxMessageBytes + 1);
  EXPECT_EQ(r.error().error.data.at("limit").to_number<std::uint64_t>(), kMaxMessageBytes);
  auto resp = parse_response(big);
  ASSERT_FALSE(resp.has_value());
  EXPECT_TRUE(resp.error().is(ErrorCode::payload_too_large));

  // Exactly at the limit is accepted (a valid request padded with whitespace).
  std::string request = R"({"jsonrpc":"2.0","method":"m","id":1})";
  std::string at_limit = request + std::string(kMaxMessageBytes - request.size(), ' ');
  EXPECT_TRUE(parse_request(at_limit).has_value());
  EXPECT_TRUE(parse_request(at_limit + " ").has_error());

  ParseLimits small;
  small.max_bytes = 16;
  EXPECT_TRUE(parse_request(request, small).error().error.is(ErrorCode::payload_too_large));

  EXPECT_FALSE(check_size(kMaxMessageBytes).has_value());
  ASSERT_TRUE(check_size(kMaxMessageBytes + 1).has_value());
  EXPECT_TRUE(check_size(kMaxMessageBytes + 1)->is(ErrorCode::payload_too_large));
}

std::string nested(std::size_t depth) {
  std::string params = std::string(depth, '[') + std::string(depth, ']');
  return R"({"jsonrpc":"2.0","method":"m","id":1,"params":)" + params + "}";
}

TEST(JsonRpc, DeepNestingIsRefused) {
  // The envelope is one level, so params may nest kMaxJsonDepth - 1 deep.
  EXPECT_TRUE(parse_request(nested(kMaxJsonDepth - 1)).has_value());
  auto r = parse_request(nested(kMaxJsonDepth));
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().error.is(ErrorCode::parse_error));
  EXPECT_NE(r.error().error.message.find("deeper"), std::string::npos) << r.error().error.message;
  // Far deeper input (a stack-exhaustion attempt) is refused the same way.
  EXPECT_TRUE(parse_request(nested(100'000)).error().error.is(ErrorCode::parse_error));
}

TEST(JsonRpc, ErrorCodesAndDescriptions) {
  EXPECT_EQ(static_cast<int>(ErrorCode::parse_error), -32700);
  EXPECT_EQ(static_cast<int>(ErrorCode::invalid_request), -32600);
  EXPECT_EQ(static_cast<int>(ErrorCode::method_not_found), -32601);
  EXPECT_EQ(static_cast<int>(ErrorCode::invalid_params), -32602);
  EXPECT_EQ(static_cast<int>(ErrorCode::internal_error), -32603);
  for (ErrorCode c : {ErrorCode::timeout, ErrorCode::unreachable, ErrorCode::payload_too_large,
                      ErrorCode::bad_signature, ErrorCode::replay, ErrorCode::forbidden, ErrorCode::unknown_session,
                      ErrorCode::rate_limited}) {
    int n = static_cast<int>(c);
    EXPECT_TRUE(n >= -32099 && n <= -32000) << n;
    EXPECT_FALSE(error_name(n).empty());
    EXPECT_NE(describe(c), "server error");
  }
  EXPECT_EQ(describe(ErrorCode::payload_too_large), "payload too large");
  EXPECT_EQ(error_name(-32601), "method_not_found");
  EXPECT_EQ(describe(-32050), "server error");
  EXPECT_EQ(describe(17), "application error");
  EXPECT_EQ(error_name(17), "");
  EXPECT_EQ(RpcError(ErrorCode::forbidden, "caller not allowed").to_string(), "forbidden (-32005): caller not allowed");
}

TEST(JsonRpc, RateLimitedCarriesRetryAfter) {
  RpcError e = rate_limited_error(std::chrono::milliseconds(1500));
  auto parsed = parse_response(make_error_response(RequestId{std::int64_t{1}}, e));
  ASSERT_TRUE(parsed.has_value());
  const RpcError& remote = parsed->outcome.error();
  EXPECT_TRUE(remote.is(ErrorCode::rate_limited));
  ASSERT_TRUE(retry_after(remote).has_value());
  EXPECT_EQ(*retry_after(remote), std::chrono::milliseconds(1500));
  EXPECT_FALSE(retry_after(RpcError(ErrorCode::rate_limited, "no data")).has_value());
  EXPECT_FALSE(retry_after(RpcError(ErrorCode::timeout, "x", json::parse(R"({"retry_after_ms":5})"))).has_value());
}

TEST(JsonRpc, IdsKeepTheirType) {
  EXPECT_EQ(to_string(RequestId{std::int64_t{7}}), "7");
  EXPECT_EQ(to_string(RequestId{std::string("7")}), "\"7\"");
  auto r = parse_response(R"({"jsonrpc":"2.0","result":1,"id":"7"})");
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->id, RequestId{std::int64_t{7}});
  EXPECT_EQ(r->id, RequestId{std::string("7")});
}

TEST(JsonRpc, PendingCallsCorrelateAndTimeOut) {
  using Clock = std::chrono::steady_clock;
  PendingCalls<std::string> calls;
  Clock::time_point t0{};
  RequestId a = calls.next_id(), b = calls.next_id();
  EXPECT_NE(a, b);
  ASSERT_TRUE(calls.add(a, t0 + std::chrono::seconds(5), "a"));
  ASSERT_TRUE(calls.add(b, t0 + std::chrono::seconds(1), "b"));
  EXPECT_FALSE(calls.add(a, t0, "dup"));
  EXPECT_EQ(calls.next_deadline(), t0 + std::chrono::seconds(1));

  auto resp = parse_response(make_response(a, json::value(1)));
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(calls.complete(resp->id), "a");
  EXPECT_FALSE(calls.complete(resp->id).has_value());  // a duplicate answer finds nothing
  EXPECT_FALSE(calls.complete(std::nullopt).has_value());
  EXPECT_FALSE(calls.complete(RequestId{std::string("1")}).has_value());  // "1" is not 1

  EXPECT_TRUE(calls.expire(t0).empty());
  auto expired = calls.expire(t0 + std::chrono::seconds(1));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].second, "b");
  EXPECT_TRUE(calls.empty());
}

TEST(JsonRpc, DeadlineTravelsWithTheRequestAndIsBounded) {
  auto text = make_request("m", nullptr, RequestId{std::string("d")}, "caller", 1500);
  EXPECT_NE(text.find(R"("deadline_ms":1500)"), std::string::npos) << text;
  auto parsed = parse_request(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->deadline_ms, 1500);
  EXPECT_FALSE(parse_request(make_request("m", nullptr, RequestId{std::string("d")}, "caller"))->deadline_ms);
  for (const char* bad : {R"({"jsonrpc":"2.0","method":"m","id":1,"deadline_ms":-1})",
                          R"({"jsonrpc":"2.0","method":"m","id":1,"deadline_ms":"soon"})",
                          R"({"jsonrpc":"2.0","method":"m","id":1,"deadline_ms":86400001})"}) {
    auto refused = parse_request(bad);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().error.code, static_cast<int>(ErrorCode::invalid_request));
  }
}

}  // namespace
}  // namespace stargate::agent
