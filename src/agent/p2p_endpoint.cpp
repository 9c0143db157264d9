#include "agent/p2p_endpoint.hpp"

#include "agent/agent_log.hpp"
#include "base/deadline_io.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/host/standard_protocols.hpp"
#include "p2p/protocols/ping/ping_io.hpp"

#include <algorithm>
#include <set>

namespace stargate::agent {
namespace {

p2p::autonat::AutonatOptions autonat_options(const P2pOptions& options) {
  // Settings validation has checked the CIDRs already.
  std::vector<p2p::autonat::Cidr> treat;
  for (const auto& text : options.treat_as_public) {
    if (auto cidr = p2p::autonat::Cidr::parse(text)) treat.push_back(*cidr);
  }
  p2p::autonat::AutonatOptions out;
  out.classifier = p2p::autonat::AddressClassifier(std::move(treat));
  return out;
}

p2p::HostConfig host_config(const P2pOptions& options) {
  p2p::HostConfig config;
  config.pool = options.pool;
  config.limits = options.resources;
  return config;
}

}  // namespace

Result<std::vector<Multiaddr>> parse_multiaddrs(const std::vector<std::string>& text, std::string_view what) {
  std::vector<Multiaddr> out;
  for (const auto& item : text) {
    auto addr = Multiaddr::parse(item);
    if (!addr) return Error{std::string(what) + ": " + addr.error().message};
    out.push_back(std::move(*addr));
  }
  return out;
}

P2pEndpoint::P2pEndpoint(p2p::asio::any_io_executor executor, const crypto::Ed25519PrivateKey& identity,
                         P2pOptions options)
    : options_(std::move(options)),
      host_(executor, identity.clone(), host_config(options_)),
      identify_(p2p::enable_standard_protocols(host_)),
      relay_client_(p2p::relay::RelayClient::enable(host_)),
      dcutr_(p2p::dcutr::DcutrService::enable(host_)) {}

P2pEndpoint::~P2pEndpoint() { close(); }

void P2pEndpoint::start(A2aRequestHandler handle, A2aStreamService streams) {
  enable_a2a(host_, std::move(handle), options_.a2a, std::move(streams));
  autonat_ = p2p::autonat::ReachabilityService::enable(host_, *identify_, autonat_options(options_));
  if (options_.relays.empty()) auto_relay_ = p2p::relay::AutoRelay::enable(host_, *identify_, relay_client_, autonat_);
  auto listen = parse_multiaddrs(options_.listen_addrs, "listen address").value();
  auto announce = parse_multiaddrs(options_.announce_addrs, "announce address").value();
  auto relays = parse_multiaddrs(options_.relays, "relay address").value();
  for (const auto& addr : listen) {
    auto bound = host_.listen(addr);
    logger()->info("listening on {}/p2p/{}", bound.to_string(), host_.peer_id().to_string());
  }
  if (!announce.empty()) host_.set_external_addrs("announce", std::move(announce));
  if (!relays.empty()) relay_monitor_ = p2p::relay::RelayMonitor::start(host_, relay_client_, relays, options_.relay_health);
  if (options_.dht) enable_dht();
  if (options_.gossip) gossip_ = p2p::gossipsub::GossipsubService::enable(host_);
}

p2p::awaitable<std::size_t> P2pEndpoint::connect_relays_from_dht(Bytes relay_key, std::size_t keep) {
  if (!dht_) co_return 0;
  std::set<crypto::PeerId> reserved;
  for (const auto& r : relay_client_->reservations())
    if (r.active) reserved.insert(r.relay);
  if (reserved.size() >= 2) co_return 0;  // AutoRelay's two are held: nothing to look for
  auto found = co_await dht_->find_providers(std::move(relay_key), 8);
  struct Measured {
    std::shared_ptr<p2p::MuxedConnection> connection;
    p2p::Clock::duration rtt;
  };
  std::vector<Measured> answered;
  for (const auto& provider : found.providers) {
    if (provider.id == host_.peer_id()) continue;
    try {
      host_.peer_store().add_addrs(provider.id, provider.addrs);
      auto connection = co_await host_.connect(provider.id);
      if (connection->info().relayed) continue;
      std::vector<std::string> protocols{p2p::ping::protocol_id};
      auto stream = co_await host_.open_stream(connection, protocols);
      p2p::MuxedStream* raw = stream.get();
      Deadline deadline(host_.executor(), std::chrono::seconds(2), [raw] { raw->reset(); });
      auto rtt = co_await p2p::ping::round_trip(*stream);
      stream->close();
      answered.push_back(Measured{connection, rtt});
    } catch (const std::exception& e) {
      logger()->debug("relay {} from the DHT did not answer: {}", provider.id.to_string(), e.what());
    }
  }
  std::sort(answered.begin(), answered.end(), [](const Measured& a, const Measured& b) { return a.rtt < b.rtt; });
  // The farther ones are let go, so that AutoRelay chooses among the nearest.
  for (std::size_t i = keep; i < answered.size(); ++i) {
    const auto& c = *answered[i].connection;
    if (c.busy_stream_count() == 0 && !reserved.contains(c.info().remote_peer)) answered[i].connection->close();
  }
  logger()->info("found {} relay(s) in the DHT, {} answered", found.providers.size(), answered.size());
  co_return answered.size();
}

void P2pEndpoint::enable_dht() {
  p2p::kad::DhtOptions dht_options;
  dht_options.protocol = options_.dht->protocol;
  dht_options.mode = options_.dht->mode;
  dht_options.offenders = options_.dht->offenders;
  dht_options.lookup.disjoint_paths = options_.dht->disjoint_paths;
  dht_options.bootstrap = parse_multiaddrs(options_.dht->bootstrap, "bootstrap address").value();
  for (auto& relay : parse_multiaddrs(options_.relays, "relay address").value()) dht_options.bootstrap.push_back(std::move(relay));
  dht_ = p2p::kad::Dht::enable(host_, *identify_, std::move(dht_options));
  if (!options_.dht->follow_reachability || !autonat_) return;
  std::weak_ptr<p2p::kad::Dht> weak_dht = dht_;
  std::weak_ptr<p2p::autonat::ReachabilityService> weak_autonat = autonat_;
  autonat_->on_change([weak_dht, weak_autonat] {
    auto dht = weak_dht.lock();
    auto autonat = weak_autonat.lock();
    if (!dht || !autonat) return;
    const auto wanted = autonat->reachability() == p2p::autonat::Reachability::public_ ? p2p::kad::DhtMode::server
                                                                                        : p2p::kad::DhtMode::client;
    if (dht->mode() != wanted) dht->set_mode(wanted);
  });
}

bool P2pEndpoint::listening() const {
  // Reservations made on our own (AutoRelay) make the node reachable too.
  return !options_.listen_addrs.empty() || !options_.relays.empty() || !relay_client_->circuit_addrs().empty();
}

std::vector<std::string> P2pEndpoint::addresses() const {
  std::vector<std::string> out;
  const std::string suffix = "/p2p/" + host_.peer_id().to_string();
  for (const auto& addr : host_.advertised_addrs()) out.push_back(addr.to_string() + suffix);
  return out;
}

void P2pEndpoint::on_addresses_changed(std::function<void()> hook) { host_.on_addrs_changed(std::move(hook)); }

std::vector<Multiaddr> P2pEndpoint::in_order_of_preference(const std::vector<Multiaddr>& addrs) const {
  if (!relay_monitor_) return addrs;
  auto through_unhealthy_relay = [this](const Multiaddr& addr) {
    auto parsed = p2p::relay::parse_circuit_address(addr);
    return parsed && relay_monitor_->unhealthy(parsed->relay);
  };
  std::vector<Multiaddr> out = addrs;
  std::stable_partition(out.begin(), out.end(), [&](const Multiaddr& a) { return !through_unhealthy_relay(a); });
  return out;
}

p2p::awaitable<P2pEndpoint::Answer> P2pEndpoint::call(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs,
                                                       const std::string& request, Path path) {
  auto* host = &host_;
  // Named, not a temporary of the co_await expression: g++ 12 destroys those twice.
  Exchange exchange = [host, &request](std::shared_ptr<p2p::MuxedConnection> c) -> p2p::awaitable<std::string> {
    co_return co_await a2a_round_trip(*host, std::move(c), request);
  };
  co_return co_await call_with(peer, addrs, request.size(), path, std::move(exchange));
}

p2p::awaitable<P2pEndpoint::Answer> P2pEndpoint::call_with(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs,
                                                            std::size_t request_size, Path path, Exchange exchange) {
  std::string errors;
  auto note = [&errors](const std::string& error) { errors += (errors.empty() ? "" : "; ") + error; };
  // A relay resets a circuit that goes over its byte limit: pass such a connection over instead of
  // failing midway.
  bool passed_over_small = false;
  auto fits = [&](const std::shared_ptr<p2p::MuxedConnection>& c) {
    const auto& info = c->info();
    if (!info.relayed || !info.data_limit || request_size <= *info.data_limit) return true;
    note("request of " + std::to_string(request_size) + " bytes exceeds the relayed connection's limit of " +
         std::to_string(*info.data_limit) + " bytes (" + info.remote_addr.to_string() + ")");
    passed_over_small = true;
    return false;
  };
  // A pool hit when an open connection the path allows is there; connect() counts the misses.
  std::shared_ptr<p2p::MuxedConnection> connection =
      path == Path::any ? host_.reuse_connection(peer) : host_.reuse_connection(peer, path == Path::relayed_only);
  if (connection && !fits(connection)) connection = nullptr;
  if (connection && !addrs.empty()) {
    // A pooled connection may have died unnoticed (its relay gone, say). When the exchange on it
    // fails, it is closed and the call goes on over a fresh connection to one of `addrs`: safe,
    // since the request ID stays the same and a callee that got the first copy answers the second
    // from its ResultCache.
    try {
      Answer answer;
      answer.relayed = connection->info().relayed;
      answer.response = co_await exchange(connection);
      co_return answer;
    } catch (const p2p::MessageTooLarge&) {
      throw;
    } catch (const std::exception& e) {
      note(std::string("open connection: ") + e.what());
    }
    logger()->debug("call to {} on a pooled connection failed, dialing again: {}", peer.to_string(), errors);
    connection->close();
    connection = nullptr;
  }
  const auto ordered = in_order_of_preference(addrs);
  for (std::size_t i = 0; !connection && i < ordered.size(); ++i) {
    const bool circuit = ordered[i].is_circuit();
    if (path == Path::direct_only && circuit) continue;
    if (path == Path::relayed_only && !circuit) continue;
    std::shared_ptr<p2p::MuxedConnection> dialed;
    try {
      auto target = ordered[i].peer_id_bytes()
                        ? ordered[i]
                        : ordered[i].encapsulate(Multiaddr::parse("/p2p/" + peer.to_string()).value());
      // Host::connect would reuse the connection already open to the peer (a direct one, or the
      // relayed one just passed over): for a circuit that must be new, ask the relay itself.
      if (circuit && (path == Path::relayed_only || passed_over_small))
        dialed = co_await relay_client_->dial(target);
      else
        dialed = co_await host_.connect(target);
    } catch (const std::exception& e) {
      note(e.what());
    }
    if (dialed && fits(dialed)) connection = std::move(dialed);
  }
  if (!connection && errors.empty() && path != Path::any) {
    errors = std::string("no ") + (path == Path::direct_only ? "direct" : "relayed") + " address known for " + peer.to_string();
  }
  if (!connection) {
    throw ErrorException(errors.empty() ? "no address known for " + peer.to_string() : errors);
  }
  Answer answer;
  answer.relayed = connection->info().relayed;
  answer.response = co_await exchange(connection);
  co_return answer;
}


void P2pEndpoint::close() {
  if (gossip_) gossip_->close();
  if (dht_) dht_->close();
  if (relay_monitor_) relay_monitor_->close();
  if (autonat_) autonat_->close();
  relay_client_->close();
  host_.close();
}

}  // namespace stargate::agent
