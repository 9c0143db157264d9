#pragma once
// Helpers for StarGateNode tests: a fresh identity directory per agent and an echo handler.
#include "stargate/node.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

namespace stargate::testing {

inline std::filesystem::path fresh_dir(const std::string& name) {
  static std::mt19937_64 rng{std::random_device{}()};
  auto dir = std::filesystem::path(::testing::TempDir()) / ("sg-" + name + "-" + std::to_string(rng()));
  std::filesystem::create_directories(dir);
  return dir;
}

// An agent on libp2p only (no NATS), listening on `listen`, with 5 s calls.
inline NodeOptions p2p_agent(const std::string& name, std::vector<std::string> listen = {"/ip4/127.0.0.1/tcp/0"}) {
  NodeOptions options;
  options.display_name = name;
  options.identity_dir = fresh_dir(name);
  options.use_nats = false;
  options.listen_addrs = std::move(listen);
  options.default_call_timeout = std::chrono::seconds(5);
  return options;
}

// The same with the broker at `nats_url` too (discovery window 200 ms).
inline NodeOptions p2p_agent_with_nats(const std::string& name, const std::string& nats_url,
                                       std::vector<std::string> listen = {"/ip4/127.0.0.1/tcp/0"}) {
  auto options = p2p_agent(name, std::move(listen));
  options.use_nats = true;
  options.nats_urls = {nats_url};
  options.discovery_window = std::chrono::milliseconds(200);
  return options;
}

// Answers {"echo": params, "caller": <the caller's agent ID>}.
inline Handler echo_handler() {
  return [](const boost::json::value& params, const CallContext& ctx) -> boost::asio::awaitable<boost::json::value> {
    co_return boost::json::object{{"echo", params}, {"caller", ctx.caller_agent_id}};
  };
}

}  // namespace stargate::testing
