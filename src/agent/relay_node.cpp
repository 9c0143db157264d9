#include "agent/relay_node.hpp"

#include "agent/dht_registry.hpp"
#include "agent/relay_metrics.hpp"
#include "base/log.hpp"
#include "p2p/host/standard_protocols.hpp"

namespace stargate::agent {
namespace {

p2p::kad::DhtOptions dht_server() {
  p2p::kad::DhtOptions options;
  options.mode = p2p::kad::DhtMode::server;
  return options;
}

p2p::HostConfig host_config(p2p::ResourceLimits resources) {
  p2p::HostConfig config;
  config.limits = std::move(resources);
  return config;
}

p2p::autonat::AutonatOptions answer_only(p2p::autonat::AddressClassifier classifier) {
  p2p::autonat::AutonatOptions options;
  options.classifier = std::move(classifier);
  options.probe = false;
  return options;
}

}  // namespace

p2p::ResourceLimits relay_resource_limits(std::size_t max_circuits, std::size_t max_circuits_per_peer) {
  p2p::ResourceLimits limits;
  p2p::ScopeLimits relay;
  // A circuit is two streams (the source's hop stream, the stop stream to the destination) and
  // two splice buffers; a few more streams per peer for reservation requests.
  relay.streams = 2 * max_circuits;
  relay.streams_per_peer = max_circuits_per_peer + 4;
  relay.memory = max_circuits * p2p::relay::kCircuitBufferBytes;
  limits.services["relay"] = relay;
  return limits;
}

RelayNode::RelayNode(p2p::asio::any_io_executor executor, crypto::Ed25519PrivateKey identity,
                     p2p::relay::RelayServiceOptions relay_options, p2p::autonat::AddressClassifier classifier,
                     p2p::ResourceLimits resources)
    : host(executor, std::move(identity), host_config(std::move(resources))),
      identify(p2p::enable_standard_protocols(host)),
      service(p2p::relay::RelayService::enable(host, std::move(relay_options))),
      autonat(p2p::autonat::ReachabilityService::enable(host, *identify, answer_only(std::move(classifier)))),
      dht(p2p::kad::Dht::enable(host, *identify, dht_server())),
      gossip(p2p::gossipsub::GossipsubService::enable(host)),
      metrics_server_(host.executor(), metrics, [this] {
        return draining_ ? http::Health::unhealthy("draining") : http::Health::healthy();
      }) {
  // Subscribed only to forward: the relay itself has no use for announcements.
  gossip->subscribe(std::string(kAnnounceSubject), [](const p2p::gossipsub::Message&) {});
  // Agents store their signed announcements on the DHT servers nearest to their key: relays too.
  dht->add_validator(std::string(kDhtNamespace), announcement_validator([] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }));
  add_relay_collector(metrics, *service, host, dht.get());
}

std::vector<std::string> RelayNode::listen(const std::vector<Multiaddr>& addrs) {
  std::vector<std::string> failures;
  for (const auto& addr : addrs) {
    try {
      host.listen(addr);
    } catch (const std::exception& e) {
      failures.push_back(addr.to_string() + ": " + e.what());
    }
  }
  return failures;
}

void RelayNode::join_dht(std::vector<Multiaddr> bootstrap) {
  for (auto& addr : bootstrap) dht->add_bootstrap(std::move(addr));
  auto table = dht;
  p2p::asio::co_spawn(host.executor(), [table]() -> p2p::awaitable<void> {
    try {
      co_await table->bootstrap();
      auto told = co_await table->provide(provider_key(kRelayProviderName));
      log::get("relay")->info("advertised as a relay in the DHT ({} peers told)", told);
    } catch (const std::exception& e) {
      log::get("relay")->warn("joining the DHT failed: {}", e.what());
    }
  }, p2p::asio::detached);
}

boost::asio::ip::tcp::endpoint RelayNode::serve_metrics(std::string_view address) {
  return metrics_server_.listen(address);
}

void RelayNode::close() {
  draining_ = true;
  metrics_server_.stop();
  gossip->close();
  dht->close();
  service->close();
  autonat->close();
  host.close();
}

std::string RelayNode::load_line() const {
  const auto& c = service->counters();
  std::string refusals;
  for (std::size_t i = 0; i < p2p::relay::kRefusalReasons; ++i) {
    if (c.refusals[i] == 0) continue;
    refusals += (refusals.empty() ? "" : ", ") + std::string(to_string(static_cast<p2p::relay::RefusalReason>(i))) +
                "=" + std::to_string(c.refusals[i]);
  }
  return "reservations=" + std::to_string(service->reservation_count()) +
         " circuits=" + std::to_string(service->circuit_count()) + " circuits_opened=" + std::to_string(c.circuits_opened) +
         " bytes_relayed=" + std::to_string(c.bytes_relayed) + " refusals={" + refusals + "}";
}

}  // namespace stargate::agent
