#pragma once
// StarGateNodes for the benchmark drivers, each on a Loop (io_context and thread) of its own.
#include "bench_loop.hpp"
#include "p2p/host/standard_protocols.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"
#include "stargate/node.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
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

// A new directory for the benchmark nodes' identities, /tmp/`prefix`-XXXXXX.
inline std::filesystem::path scratch_dir(const std::string& prefix) {
  std::string path = "/tmp/" + prefix + "-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return path;
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

// The three tiers of the cascade in one process, for the drivers that compare them
// (tier_bench.cpp, stream_bench.cpp):
//
//   relay:   a p2p::Host with the standard protocols and relay::RelayService, as `stargate relay
//            start` builds one, with the private relay's limits (no per-circuit byte or duration
//            limit), listening on 127.0.0.1.
//   callee:  a StarGateNode listening on 127.0.0.1, on the broker at `nats_url`, holding a
//            reservation on the relay (so it announces a direct and a /p2p-circuit address);
//            `serve` registers its methods before it starts.
//   caller:  a StarGateNode on the broker, not listening; once constructed it has discovered the
//            callee's circuit address, so CallOptions::via can force any tier.
//
// The relay, the callee and the caller each run on an io_context of their own, in a thread of
// their own. Warm the tiers up in the order direct, relay, NATS: with a direct connection open the
// callee does not hole-punch the relayed one away (DCUtR stops when a direct connection exists).
struct TierNodes {
  std::filesystem::path dir;
  Loop relay_loop, callee_loop, caller_loop;
  std::unique_ptr<p2p::Host> relay;
  std::shared_ptr<p2p::identify::IdentifyService> relay_identify;
  std::shared_ptr<p2p::relay::RelayService> relay_service;
  std::unique_ptr<StarGateNode> callee, caller;
  std::string callee_id;

  // `name`: the nodes are `name`-callee and `name`-caller (identities under `base`).
  TierNodes(const std::string& nats_url, std::filesystem::path base, const std::string& name,
            const std::function<void(StarGateNode&)>& serve)
      : dir(std::move(base)) {
    namespace asio = boost::asio;
    using namespace std::chrono_literals;
    Multiaddr relay_addr = asio::post(relay_loop.io, asio::use_future([this] {
      relay = std::make_unique<p2p::Host>(relay_loop.io.get_executor(), crypto::Ed25519PrivateKey::generate());
      relay_identify = p2p::enable_standard_protocols(*relay);
      p2p::relay::RelayServiceOptions options;
      options.limits = p2p::relay::RelayLimits::private_relay();
      relay_service = p2p::relay::RelayService::enable(*relay, options);
      auto bound = relay->listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
      return bound.encapsulate(Multiaddr::parse("/p2p/" + relay->peer_id().to_string()).value());
    })).get();

    auto callee_options = node_options(dir, name + "-callee", nats_url);
    callee_options.listen_addrs = {"/ip4/127.0.0.1/tcp/0"};
    callee_options.relays = {relay_addr.to_string()};
    callee = std::make_unique<StarGateNode>(callee_loop.io.get_executor(), callee_options);
    caller = std::make_unique<StarGateNode>(caller_loop.io.get_executor(), node_options(dir, name + "-caller", nats_url));
    serve(*callee);
    start_on(callee_loop, *callee);
    start_on(caller_loop, *caller);
    callee_id = callee->agent_id();
    // Announce once the reservation holds (with the circuit address), and let the caller learn it.
    asio::co_spawn(callee_loop.io, [this]() -> asio::awaitable<void> {
      asio::steady_timer tick(co_await asio::this_coro::executor);
      for (int i = 0; i < 1000; ++i) {
        for (const auto& addr : callee->get_status().addresses) {
          if (addr.find("/p2p-circuit/") != std::string::npos) {
            co_await callee->announce();
            co_return;
          }
        }
        tick.expires_after(10ms);
        co_await tick.async_wait(asio::use_awaitable);
      }
      throw std::runtime_error("the callee got no reservation on the relay within 10 s");
    }, asio::use_future).get();
    asio::co_spawn(caller_loop.io, [this]() -> asio::awaitable<void> {
      for (int i = 0; i < 25; ++i) {
        for (const auto& peer : co_await caller->discover()) {
          if (peer.agent_id != callee_id) continue;
          for (const auto& addr : peer.addresses)
            if (addr.find("/p2p-circuit/") != std::string::npos) co_return;
        }
      }
      throw std::runtime_error("the caller did not learn the callee's circuit address");
    }, asio::use_future).get();
  }

  TierNodes(const TierNodes&) = delete;
  TierNodes& operator=(const TierNodes&) = delete;

  ~TierNodes() {
    namespace asio = boost::asio;
    stop_on(caller_loop, caller);
    stop_on(callee_loop, callee);
    asio::post(relay_loop.io, asio::use_future([this] {
      relay_service->close();
      relay->close();
      relay_service.reset();
      relay_identify.reset();
      relay.reset();
    })).get();
    // Stopped, not drained: a stream that stalled or failed leaves coroutines waiting on the
    // callee's io_context for up to a minute after stop() (its resume window, the NATS path's
    // acknowledgement timeout), and ~Loop would wait for them.
    for (Loop* loop : {&caller_loop, &callee_loop, &relay_loop}) loop->io.stop();
  }

  NodeStatus caller_status() {
    return boost::asio::post(caller_loop.io, boost::asio::use_future([this] { return caller->get_status(); })).get();
  }
  NodeStatus callee_status() {
    return boost::asio::post(callee_loop.io, boost::asio::use_future([this] { return callee->get_status(); })).get();
  }
  std::uint64_t bytes_relayed() {
    return boost::asio::post(relay_loop.io, boost::asio::use_future([this] { return relay_service->counters().bytes_relayed; })).get();
  }
};

inline const char* tier_name(Via via) {
  switch (via) {
    case Via::direct: return "direct (libp2p)";
    case Via::relay: return "relayed (libp2p, Circuit Relay v2)";
    case Via::nats: return "NATS (sealed, via nats-server)";
    case Via::any: break;
  }
  return "any";
}

}  // namespace stargate::bench
