#pragma once
// A relay as a library part: a host with the standard protocols, the Circuit Relay v2 hop service,
// an AutoNAT server (which answers, never probes: a relay's addresses are given), a DHT server,
// where it advertises itself as a relay (docs/dht.md), gossipsub on the announcement topic, so that
// agents that join through it reach the mesh, and its metrics (relay_metrics.hpp), served over HTTP
// on request. `stargate relay start` and `stargate demo` run it; so can a test or another program,
// in-process on the io_context it gives:
//
//   agent::RelayNode relay(io.get_executor(), crypto::Ed25519PrivateKey::generate(), {});
//   relay.listen({Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value()});
//   relay.join_dht({});                       // no bootstrap: others join through it
//   auto endpoint = relay.serve_metrics("127.0.0.1:0");
//   ...
//   relay.close();                            // on the io_context's thread
//
// It lives in the agent layer because it keeps the agents' conventions: the announcement topic, the
// DHT's "stargate" record namespace and validator, the relay provider key, the resource report.
#include "http/metrics_server.hpp"
#include "metrics/registry.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/autonat/autonat_io.hpp"
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"
#include "p2p/protocols/identify/identify_io.hpp"
#include "p2p/protocols/kad/kad_io.hpp"
#include "p2p/protocols/relay/relay_service_io.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::agent {

// The resource limits of a relay that carries at most `max_circuits` circuits at once: the relay
// service's scope holds both streams of each circuit and its splice buffers.
p2p::ResourceLimits relay_resource_limits(std::size_t max_circuits, std::size_t max_circuits_per_peer);

// Runs on a single-threaded executor; every member function is called from its thread, and the
// node is destroyed there.
struct RelayNode {
  RelayNode(p2p::asio::any_io_executor executor, crypto::Ed25519PrivateKey identity,
            p2p::relay::RelayServiceOptions relay_options, p2p::autonat::AddressClassifier classifier = {},
            p2p::ResourceLimits resources = {});
  RelayNode(const RelayNode&) = delete;
  RelayNode& operator=(const RelayNode&) = delete;

  // Listens on each address; returns "ADDR: why" for each that failed (IPv6 on a host without it,
  // say), so the caller decides which failures matter.
  std::vector<std::string> listen(const std::vector<Multiaddr>& addrs);
  // Joins the DHT through `bootstrap` (none: it waits for others to join through it) and
  // advertises this relay under "stargate/relay", once listening.
  void join_dht(std::vector<Multiaddr> bootstrap);
  // Serves /metrics (the `metrics` registry) and /healthz (unhealthy "draining" once close() has
  // begun) at ADDR:PORT; port 0 picks one. Returns the bound address; throws as
  // http::MetricsServer::listen does.
  boost::asio::ip::tcp::endpoint serve_metrics(std::string_view address);
  // Stops serving: the metrics endpoint closes, open circuits reset, Yamux GoAway on every
  // connection (clients then reserve elsewhere), listeners closed. Idempotent.
  void close();

  // "reservations=N circuits=N circuits_opened=N bytes_relayed=N refusals={reason=N, ...}": the
  // load line the daemon logs.
  std::string load_line() const;

  p2p::Host host;
  std::shared_ptr<p2p::identify::IdentifyService> identify;
  std::shared_ptr<p2p::relay::RelayService> service;
  std::shared_ptr<p2p::autonat::ReachabilityService> autonat;
  std::shared_ptr<p2p::kad::Dht> dht;
  std::shared_ptr<p2p::gossipsub::GossipsubService> gossip;
  // The relay's families (add_relay_collector), read at each scrape or render().
  metrics::Registry metrics;

 private:
  bool draining_ = false;
  http::MetricsServer metrics_server_;  // after `metrics`, which it reads
};

}  // namespace stargate::agent
