#pragma once
// StarGateNodes for the benchmark drivers, each on a Loop (io_context and thread) of its own.
#include "bench_loop.hpp"
#include "stargate/node.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace stargate::bench {

// A benchmark node: identity in `dir/name` (created), the broker at `nats_url`, 200 ms discovery
// window, 10 s calls. Call rate limits (100 calls/s per caller by default) are lifted: one caller
// makes tens of thousands of calls a second here, and what is measured is the transport.
inline NodeOptions node_options(const std::filesystem::path& dir, const std::string& name, const std::string& nats_url) {
  NodeOptions o;
  o.rate_limits.calls_per_second = o.rate_limits.calls_burst = 1e9;
  o.rate_limits.calls_per_ip_per_second = o.rate_limits.calls_per_ip_burst = 1e9;
  o.display_name = name;
  o.identity_dir = dir / name;
  std::filesystem::create_directories(*o.identity_dir);
  o.nats_urls = {nats_url};
  o.discovery_window = std::chrono::milliseconds(200);
  o.default_call_timeout = std::chrono::seconds(10);
  return o;
}

// Answers a call with its params.
inline Handler echo_params() {
  return [](const boost::json::value& params, const CallContext&) -> boost::asio::awaitable<boost::json::value> {
    co_return params;
  };
}

inline void start_on(Loop& loop, StarGateNode& node) {
  boost::asio::co_spawn(loop.io, node.start(), boost::asio::use_future).get();
}

// Stops `node` on its loop (a failure is only logged) and destroys it there.
inline void stop_on(Loop& loop, std::unique_ptr<StarGateNode>& node) {
  if (!node) return;
  try {
    boost::asio::co_spawn(loop.io, node->stop(), boost::asio::use_future).get();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stop: %s\n", e.what());
  }
  boost::asio::post(loop.io, boost::asio::use_future([&node] { node.reset(); })).get();
}

}  // namespace stargate::bench
