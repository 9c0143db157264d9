#include "agent/p2p_endpoint.hpp"

#include "base/log.hpp"
#include "p2p/host/standard_protocols.hpp"

namespace stargate::agent {
namespace {

auto logger() {
  static auto l = log::get("agent");
  return l;
}

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
      host_(executor, identity.clone()),
      identify_(p2p::enable_standard_protocols(host_)),
      relay_client_(p2p::relay::RelayClient::enable(host_)),
      dcutr_(p2p::dcutr::DcutrService::enable(host_)) {}

P2pEndpoint::~P2pEndpoint() { close(); }

void P2pEndpoint::start(A2aRequestHandler handle) {
  enable_a2a(host_, std::move(handle));
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
  for (const auto& relay : relays) relay_client_->add_relay(relay);
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

p2p::awaitable<P2pEndpoint::Answer> P2pEndpoint::call(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs,
                                                       const std::string& request, Path path) {
  // A pool hit when an open connection the path allows is there; connect() counts the misses.
  std::shared_ptr<p2p::MuxedConnection> connection =
      path == Path::any ? host_.reuse_connection(peer) : host_.reuse_connection(peer, path == Path::relayed_only);
  std::string errors;
  for (std::size_t i = 0; !connection && i < addrs.size(); ++i) {
    if (path == Path::direct_only && addrs[i].is_circuit()) continue;
    if (path == Path::relayed_only && !addrs[i].is_circuit()) continue;
    try {
      auto target = addrs[i].peer_id_bytes() ? addrs[i]
                                             : addrs[i].encapsulate(Multiaddr::parse("/p2p/" + peer.to_string()).value());
      // Host::connect would reuse a direct connection for a circuit address: ask the relay itself.
      if (path == Path::relayed_only)
        connection = co_await relay_client_->dial(target);
      else
        connection = co_await host_.connect(target);
    } catch (const std::exception& e) {
      errors += std::string(errors.empty() ? "" : "; ") + e.what();
    }
  }
  if (!connection && errors.empty() && path != Path::any) {
    errors = std::string("no ") + (path == Path::direct_only ? "direct" : "relayed") + " address known for " + peer.to_string();
  }
  if (!connection) {
    throw ErrorException(errors.empty() ? "no address known for " + peer.to_string() : errors);
  }
  // A relay resets a circuit that goes over its byte limit: say so now instead of failing midway.
  const auto& info = connection->info();
  if (info.relayed && info.data_limit && request.size() > *info.data_limit) {
    throw ErrorException("request of " + std::to_string(request.size()) + " bytes exceeds the relayed connection's limit of " +
                         std::to_string(*info.data_limit) + " bytes");
  }
  Answer answer;
  answer.relayed = info.relayed;
  answer.response = co_await a2a_round_trip(host_, connection, request);
  co_return answer;
}

void P2pEndpoint::close() {
  if (autonat_) autonat_->close();
  relay_client_->close();
  host_.close();
}

}  // namespace stargate::agent
