#include "agent/control_request.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace stargate::agent {
namespace {

namespace json = boost::json;

// The line a client sends for `method` with `params`, id 7.
std::string line(std::string_view method, const json::value& params) {
  return make_request(method, params, RequestId{std::int64_t{7}});
}

// The error a line is refused with; it must still be answered to its id.
RpcError refusal(std::string_view text, std::optional<RequestId> id = RequestId{std::int64_t{7}}) {
  auto r = parse_control_request(text);
  EXPECT_FALSE(r.has_value()) << text;
  if (r) return {};
  EXPECT_EQ(r.error().id, id) << text;
  return r.error().error;
}

json::object call_params() { return json::object{{"peer", "worker"}, {"method", "upper"}}; }

TEST(ControlRequest, ValidCall) {
  json::object p = call_params();
  p["params"] = json::object{{"text", "hi"}};
  p["timeout_ms"] = 2500;
  p["via"] = "relay";
  auto r = parse_control_request(line("call", p));
  ASSERT_TRUE(r.has_value()) << r.error().error.to_string();
  EXPECT_EQ(r->id, RequestId{std::int64_t{7}});
  ASSERT_TRUE(std::holds_alternative<ControlCall>(r->command));
  const auto& call = std::get<ControlCall>(r->command);
  EXPECT_EQ(call.peer, "worker");
  EXPECT_EQ(call.method, "upper");
  EXPECT_EQ(call.params, json::value(json::object{{"text", "hi"}}));
  EXPECT_EQ(call.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(call.via, Via::relay);
  EXPECT_EQ(method_name(r->command), "call");
}

TEST(ControlRequest, CallDefaults) {
  // No params, timeout or via: {}, the node's default timeout, the cascade. Null counts as absent.
  auto r = parse_control_request(line("call", call_params()));
  ASSERT_TRUE(r.has_value());
  const auto& call = std::get<ControlCall>(r->command);
  EXPECT_EQ(call.params, json::value(json::object()));
  EXPECT_FALSE(call.timeout.has_value());
  EXPECT_EQ(call.via, Via::any);

  json::object p = call_params();
  p["params"] = json::array{1, 2};
  p["timeout_ms"] = nullptr;
  p["via"] = nullptr;
  auto r2 = parse_control_request(line("call", p));
  ASSERT_TRUE(r2.has_value()) << r2.error().error.to_string();
  EXPECT_TRUE(std::get<ControlCall>(r2->command).params.is_array());
  EXPECT_FALSE(std::get<ControlCall>(r2->command).timeout.has_value());

  // A float holding an integer exactly is an integer.
  p["timeout_ms"] = 1500.0;
  auto r3 = parse_control_request(line("call", p));
  ASSERT_TRUE(r3.has_value());
  EXPECT_EQ(std::get<ControlCall>(r3->command).timeout, std::chrono::milliseconds(1500));
  p["timeout_ms"] = 1;
  EXPECT_TRUE(parse_control_request(line("call", p)).has_value());
  p["timeout_ms"] = kMaxDeadlineMs;
  EXPECT_TRUE(parse_control_request(line("call", p)).has_value());
}

TEST(ControlRequest, MissingPeer) {
  constexpr int kInvalidParams = static_cast<int>(ErrorCode::invalid_params);
  EXPECT_EQ(refusal(line("call", json::object{{"method", "upper"}})).code, kInvalidParams);
  EXPECT_EQ(refusal(line("call", json::object{{"peer", 5}, {"method", "upper"}})).code, kInvalidParams);
  EXPECT_EQ(refusal(line("call", json::object{{"peer", ""}, {"method", "upper"}})).code, kInvalidParams);
  EXPECT_EQ(refusal(line("call", json::object{{"peer", "worker"}})).code, kInvalidParams);
  EXPECT_EQ(refusal(line("call", json::object())).message, "call needs peer and method strings");
  // No params at all.
  EXPECT_EQ(refusal(R"({"jsonrpc":"2.0","method":"call","id":7})").code, kInvalidParams);
}

TEST(ControlRequest, NonObjectParams) {
  constexpr int kInvalidParams = static_cast<int>(ErrorCode::invalid_params);
  // The control methods take named params only.
  for (const char* method : {"call", "discover", "status"}) {
    auto e = refusal(line(method, json::array{"worker", "upper"}));
    EXPECT_EQ(e.code, kInvalidParams) << method;
    EXPECT_EQ(e.message, "control params must be an object");
  }
  // The callee's params: an object, an array or null, nothing else.
  for (json::value bad : {json::value("text"), json::value(3), json::value(true)}) {
    json::object p = call_params();
    p["params"] = bad;
    EXPECT_EQ(refusal(line("call", p)).code, kInvalidParams) << json::serialize(bad);
  }
  // Not an object at the JSON-RPC level: invalid request, not invalid params.
  EXPECT_EQ(refusal(R"({"jsonrpc":"2.0","method":"call","params":"x","id":7})").code,
            static_cast<int>(ErrorCode::invalid_request));
}

TEST(ControlRequest, UnknownMethod) {
  auto e = refusal(line("shutdown", json::object()));
  EXPECT_EQ(e.code, static_cast<int>(ErrorCode::method_not_found));
  EXPECT_EQ(e.message, "unknown control method shutdown");
  // Checked before the params.
  EXPECT_EQ(refusal(line("Call", json::array())).code, static_cast<int>(ErrorCode::method_not_found));
}

TEST(ControlRequest, TimeoutMustBeAnIntegerInRange) {
  const std::string expected = "timeout_ms must be an integer between 1 and " + std::to_string(kMaxDeadlineMs);
  for (json::value bad : {json::value("1000"), json::value(true), json::value(json::array{1}), json::value(-1), json::value(0),
                          json::value(kMaxDeadlineMs + 1), json::value(std::numeric_limits<std::int64_t>::max()),
                          json::value(std::numeric_limits<std::uint64_t>::max()), json::value(1e300),
                          json::value(-1e300), json::value(1.5)}) {
    json::object p = call_params();
    p["timeout_ms"] = bad;
    auto e = refusal(line("call", p));
    EXPECT_EQ(e.code, static_cast<int>(ErrorCode::invalid_params)) << json::serialize(bad);
    EXPECT_EQ(e.message, expected) << json::serialize(bad);
  }
  // Near INT64_MAX as text, as a client may send it.
  EXPECT_EQ(refusal(R"({"jsonrpc":"2.0","method":"call","params":{"peer":"w","method":"m","timeout_ms":9223372036854775807},"id":7})")
                .message,
            expected);
}

TEST(ControlRequest, Via) {
  for (json::value bad : {json::value("fast"), json::value(1)}) {
    json::object p = call_params();
    p["via"] = bad;
    EXPECT_EQ(refusal(line("call", p)).message, "via must be any, direct, relay or nats");
  }
  for (auto [name, via] : {std::pair{"any", Via::any}, std::pair{"direct", Via::direct}, std::pair{"nats", Via::nats}}) {
    json::object p = call_params();
    p["via"] = name;
    auto r = parse_control_request(line("call", p));
    ASSERT_TRUE(r.has_value()) << name;
    EXPECT_EQ(std::get<ControlCall>(r->command).via, via);
  }
}

TEST(ControlRequest, Discover) {
  auto all = parse_control_request(line("discover", json::object()));
  ASSERT_TRUE(all.has_value());
  EXPECT_FALSE(std::get<ControlDiscover>(all->command).capability.has_value());
  auto some = parse_control_request(line("discover", json::object{{"capability", "search"}}));
  ASSERT_TRUE(some.has_value());
  EXPECT_EQ(std::get<ControlDiscover>(some->command).capability, "search");
  EXPECT_EQ(refusal(line("discover", json::object{{"capability", 3}})).code,
            static_cast<int>(ErrorCode::invalid_params));
}

TEST(ControlRequest, MethodsWithoutParams) {
  for (const char* method : {"announce", "status", "metrics"}) {
    auto r = parse_control_request(line(method, json::object()));
    ASSERT_TRUE(r.has_value()) << method;
    EXPECT_EQ(method_name(r->command), method);
    // params may be left out.
    auto bare = parse_control_request(std::string(R"({"jsonrpc":"2.0","method":")") + method + R"(","id":"a"})");
    ASSERT_TRUE(bare.has_value()) << method;
    EXPECT_EQ(bare->id, RequestId{std::string("a")});
  }
}

TEST(ControlRequest, NotJsonRpc) {
  EXPECT_EQ(refusal("{not json", std::nullopt).code, static_cast<int>(ErrorCode::parse_error));
  EXPECT_EQ(refusal(R"({"jsonrpc":"2.0","method":"status"})", std::nullopt).code,
            static_cast<int>(ErrorCode::invalid_request));
  EXPECT_EQ(refusal(R"({"jsonrpc":"1.0","method":"status","id":7})").code,
            static_cast<int>(ErrorCode::invalid_request));
}

}  // namespace
}  // namespace stargate::agent
