// StarGateNode: the parts of an agent put together (docs/architecture.md, "The agent"). The
// identity; the call transports (libp2p endpoint, NATS endpoint) and the cascade over them; the
// discovery sources (NATS, gossipsub, DHT) feeding one peer directory; the inbound dispatcher that
// serves every call, whatever carried it; one status model for the status, the control socket and
// the metrics. What is here is the order things start and stop in, and how a call's target is
// resolved before the cascade carries it.
#include "stargate/node.hpp"

#include "agent/announce_jitter.hpp"
#include "agent/announcement_intake.hpp"
#include "agent/call_errors.hpp"
#include "agent/cascade.hpp"
#include "agent/dht_discovery.hpp"
#include "agent/dht_registry.hpp"
#include "agent/gossip_discovery.hpp"
#include "agent/inbound_dispatcher.hpp"
#include "agent/libp2p_transport.hpp"
#include "agent/nats_discovery.hpp"
#include "agent/nats_endpoint.hpp"
#include "agent/nats_urls.hpp"
#include "agent/streaming_call.hpp"
#include "agent/node_config.hpp"
#include "agent/node_status.hpp"
#include "agent/status_metrics.hpp"
#include "agent/agent_log.hpp"
#include "crypto/key_file.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/random.hpp"
#include "crypto/session_key.hpp"
#include "http/metrics_server.hpp"
#include "metrics/registry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <random>
#include <set>

namespace stargate {

namespace json = boost::json;
namespace asio = boost::asio;
using asio::awaitable;
using agent::ErrorCode;
using agent::logger;

namespace {

std::string random_hex(std::size_t bytes) {
  Bytes raw(bytes);
  crypto::random_bytes(raw);
  return to_hex(raw);
}

bool transport_failure(const CallError& e) {
  return e.code() == static_cast<int>(ErrorCode::timeout) || e.code() == static_cast<int>(ErrorCode::unreachable);
}

}  // namespace

CallError::CallError(int code, std::string message, json::value data)
    : std::runtime_error(std::move(message)), code_(code), data_(std::move(data)) {}

json::value CallError::to_json() const {
  json::object o{{"code", code_}, {"message", what()}};
  if (!data_.is_null()) o["data"] = data_;
  return o;
}

struct StarGateNode::Impl : std::enable_shared_from_this<StarGateNode::Impl> {
  Impl(asio::any_io_executor ex, NodeOptions opts)
      : calls_family(registry.counter_family("stargate_calls",
                                             "Calls this node made, by tier (direct, relay, nats; for a failure the tier "
                                             "asked for, any for the cascade) and outcome",
                                             {"tier", "outcome"})),
        latency_family(registry.histogram_family("stargate_call_duration_seconds", "Duration of successful calls, by tier",
                                                 {"tier"})),
        executor(ex),
        options(std::move(opts)),
        rejections(std::make_shared<agent::Rejections>()),
        intake(directory, options.rate_limits, *rejections),
        dispatcher(std::make_shared<agent::InboundDispatcher>(ex, options.rate_limits, *rejections)),
        clock(ex),
        announce_timer(ex) {
    registry.add_collector([this](metrics::Collection& out) { agent::collect_status(out, status()); });
  }

  // Declared first among the metrics members so that the families and the server can use it.
  metrics::Registry registry;
  metrics::Family<metrics::Counter>& calls_family;
  metrics::Family<metrics::Histogram>& latency_family;
  std::unique_ptr<http::MetricsServer> metrics_server;
  std::string metrics_address;

  asio::any_io_executor executor;
  NodeOptions options;
  std::optional<crypto::Ed25519PrivateKey> identity;
  std::string agent_id, peer_id;
  crypto::X25519Key session_key{};  // the static key of our sealed NATS sessions, announced

  std::shared_ptr<agent::Rejections> rejections;
  agent::PeerDirectory directory;
  agent::AnnouncementIntake intake;
  std::shared_ptr<agent::InboundDispatcher> dispatcher;

  std::shared_ptr<agent::P2pEndpoint> p2p;
  std::shared_ptr<agent::NatsEndpoint> nats;  // null without a broker
  std::shared_ptr<agent::NatsDiscovery> nats_discovery;
  std::shared_ptr<agent::GossipDiscovery> gossip_discovery;
  std::shared_ptr<agent::DhtDiscovery> dht_discovery;
  std::vector<std::shared_ptr<agent::DiscoverySource>> sources;  // in the order they are asked
  agent::SteadyCallClock clock;
  std::unique_ptr<agent::Cascade> cascade;

  asio::steady_timer announce_timer;
  std::mt19937_64 announce_jitter{std::random_device{}()};
  bool started = false, stopped = false;
  NodeStatus counters;  // the calls this node made; the parts count the rest

  std::string signed_announcement(agent::AnnouncementKind kind, std::optional<std::chrono::seconds> ttl = std::nullopt) {
    agent::AnnouncementInfo info;
    info.kind = kind;
    info.name = options.display_name;
    info.capabilities = options.capabilities;
    info.software = options.software;
    if (p2p && p2p->listening()) {
      info.addresses = p2p->addresses();
      // Receivers refuse more than the policy allows: keep the first ones (listen, then relayed).
      if (info.addresses.size() > agent::AnnouncementPolicy{}.limits.max_addresses)
        info.addresses.resize(agent::AnnouncementPolicy{}.limits.max_addresses);
    }
    info.x25519_key = session_key;
    info.ttl = ttl.value_or(options.announce_ttl);
    auto wire = agent::sign_announcement(*identity, info, agent::unix_ms());
    if (!wire) throw std::runtime_error("cannot sign announcement: " + wire.error().message);
    return std::move(*wire);
  }

  // What the discovery sources publish: nothing while the node is not live or only a client.
  agent::AnnouncementSigner signer() {
    std::weak_ptr<Impl> weak = shared_from_this();
    return [weak](agent::AnnouncementKind kind, std::optional<std::chrono::seconds> ttl) -> std::optional<std::string> {
      auto self = weak.lock();
      if (!self || !self->started || self->stopped || self->options.client_only) return std::nullopt;
      return self->signed_announcement(kind, ttl);
    };
  }

  void publish_announcement() {
    auto wire = signer()(agent::AnnouncementKind::announce, std::nullopt);
    if (!wire) return;
    for (const auto& source : sources) source->publish(*wire);
  }

  // Closes every libp2p connection to `peer`, a moment from now: the answer already on its way (a
  // "rate limited" refusal) still reaches it first.
  void disconnect(const crypto::PeerId& peer) {
    if (!p2p) return;
    auto timer = std::make_shared<asio::steady_timer>(executor, std::chrono::milliseconds(100));
    std::weak_ptr<Impl> weak = shared_from_this();
    timer->async_wait([weak, timer, peer](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped || !self->p2p) return;
      for (const auto& c : self->p2p->host().connections()) {
        if (c->info().remote_peer == peer) c->close();
      }
    });
  }

  // The caller of a call that arrived on a libp2p a2a stream: the peer Noise authenticated.
  static std::optional<agent::Caller> p2p_caller(const p2p::ConnectionInfo& connection) {
    const auto& peer = connection.remote_peer;
    // A relayed connection's address is the relay's: its IP says nothing about the caller.
    std::optional<std::string> ip;
    if (!connection.relayed) ip = agent::ip_of_multiaddr(connection.remote_addr.to_string());
    if (auto id = agent::agent_id_of(peer)) return agent::Caller{*id, peer.to_string(), std::move(ip)};
    return std::nullopt;
  }

  awaitable<std::string> respond_p2p(std::string text, p2p::ConnectionInfo connection) {
    auto response = co_await dispatcher->respond(agent::parse_request(text), p2p_caller(connection));
    co_return *response;
  }

  // The first frame of a /stargate/a2a/1.1.0 stream: a request (streamed or not) or a resume.
  awaitable<agent::StreamAttachment> open_p2p_stream(std::string opening, p2p::ConnectionInfo connection) {
    auto self = shared_from_this();
    auto parsed = agent::parse_stream_opening(opening);
    if (auto* resume = std::get_if<agent::StreamResume>(&parsed)) co_return dispatcher->resume_stream(*resume, p2p_caller(connection));
    co_return co_await dispatcher->open_stream(std::move(std::get<0>(parsed)), p2p_caller(connection));
  }

  bool uses(Transport transport) const {
    return std::find(options.transports.begin(), options.transports.end(), transport) != options.transports.end();
  }

  const agent::PeerEntry& resolve(const std::string& peer) {
    auto candidates = directory.resolve(peer);
    if (candidates.empty())
      throw agent::call_error(ErrorCode::unreachable, "unknown agent '" + peer + "' (not announced; try discover)");
    if (candidates.size() > 1) {
      std::string list;
      for (const auto* entry : candidates) list += (list.empty() ? "" : ", ") + entry->announcement.agent_id;
      throw agent::call_error(ErrorCode::invalid_params, "name '" + peer + "' is ambiguous: " + list);
    }
    return *candidates.front();
  }

  // A call from this node, counted as sent: one ID for every tier and retry.
  std::shared_ptr<agent::OutboundCall> new_call(std::string method, json::value params, std::chrono::steady_clock::time_point start,
                                                std::chrono::milliseconds timeout, Via via) {
    if (!started || stopped) throw agent::call_error(ErrorCode::unreachable, "node is not running");
    ++counters.calls_sent;
    auto call = std::make_shared<agent::OutboundCall>();
    call->id = random_hex(12);
    call->method = std::move(method);
    call->params = std::move(params);
    call->deadline = start + timeout;
    call->timeout = timeout;
    call->via = via;
    return call;
  }

  awaitable<json::value> call(std::string peer, std::string method, json::value params, std::chrono::milliseconds timeout,
                              Via via) {
    auto self = shared_from_this();
    const auto start = std::chrono::steady_clock::now();
    auto call = new_call(std::move(method), std::move(params), start, timeout, via);
    try {
      auto delivered = co_await route(std::move(peer), std::move(call));
      ++counters.calls_ok;
      count_delivered(delivered.tier, start);
      co_return std::move(delivered.result);
    } catch (const CallError&) {
      ++counters.calls_failed;
      calls_family.with({std::string(to_string(via)), "error"}).inc();
      throw;
    }
  }

  // Starts a streamed call: the cascade runs on its own coroutine, delivering into the stream.
  std::shared_ptr<agent::StreamingCall> call_stream(std::string peer, std::string method, json::value params,
                                                    std::chrono::milliseconds timeout, Via via) {
    const auto start = std::chrono::steady_clock::now();
    auto call = new_call(std::move(method), std::move(params), start, timeout, via);
    call->stream = std::make_shared<agent::StreamingCall>(executor, call->id, agent::kDefaultStreamWindow);
    auto stream = call->stream;
    std::weak_ptr<agent::StreamingCall> weak_stream = stream;
    asio::co_spawn(executor, [self = shared_from_this(), peer = std::move(peer), call, weak_stream, start, via]() -> awaitable<void> {
      try {
        auto delivered = co_await self->route(peer, call);
        ++self->counters.calls_ok;
        self->count_delivered(delivered.tier, start);
      } catch (const CallError& e) {
        ++self->counters.calls_failed;
        self->calls_family.with({std::string(to_string(via)), "error"}).inc();
        if (auto s = weak_stream.lock()) s->fail(e);
      } catch (const std::exception& e) {
        ++self->counters.calls_failed;
        if (auto s = weak_stream.lock()) s->fail(agent::call_error(ErrorCode::internal_error, e.what()));
      }
    }, asio::detached);
    // The caller's deadline ends the stream too: the reader is told, the path cancels the handler.
    auto timer = std::make_shared<asio::steady_timer>(executor, call->deadline);
    timer->async_wait([timer, weak_stream, timeout](boost::system::error_code ec) {
      auto s = weak_stream.lock();
      if (ec || !s || s->ended()) return;
      s->fail(agent::call_error(ErrorCode::timeout, "the stream did not end within " + std::to_string(timeout.count()) + " ms"));
    });
    return stream;
  }

  void count_delivered(agent::Tier tier, std::chrono::steady_clock::time_point start) {
    switch (tier) {
      case agent::Tier::direct: ++counters.calls_ok_libp2p, ++counters.calls_ok_direct; break;
      case agent::Tier::relay: ++counters.calls_ok_libp2p, ++counters.calls_ok_relayed; break;
      case agent::Tier::nats: ++counters.calls_ok_nats; break;
    }
    const std::string name(agent::to_string(tier));
    calls_family.with({name, "ok"}).inc();
    latency_family.with({name}).observe(std::chrono::steady_clock::now() - start);
  }

  // Who `peer` is, then the cascade. A multiaddr is called over libp2p only; a PeerId libp2p knows
  // (an open connection, addresses from identify) needs no announcement; anything else is looked
  // up in the directory, asking the discovery sources when it is not there yet.
  awaitable<agent::Delivered> route(std::string peer, std::shared_ptr<agent::OutboundCall> call) {
    const Via via = call->via;
    if (via != Via::any && via != Via::nats && !uses(Transport::libp2p))
      throw agent::call_error(ErrorCode::invalid_params, "libp2p is not among this node's transports");
    if (!peer.empty() && peer.front() == '/') {
      if (via == Via::nats) throw agent::call_error(ErrorCode::invalid_params, "a multiaddr is called over libp2p, not NATS");
      if (!uses(Transport::libp2p))
        throw agent::call_error(ErrorCode::invalid_params, "a multiaddr needs libp2p, which is not among this node's transports");
      auto addr = Multiaddr::parse(peer);
      if (!addr) throw agent::call_error(ErrorCode::invalid_params, addr.error().message);
      auto id_bytes = addr->peer_id_bytes();
      auto id = id_bytes ? crypto::PeerId::from_bytes(*id_bytes) : crypto::PeerId::from_bytes({});
      if (!id) throw agent::call_error(ErrorCode::invalid_params, "a multiaddr to call must end in /p2p/<PeerId>: " + peer);
      auto target = std::make_shared<agent::CallTarget>();
      target->label = peer;
      target->peer_id = *id;
      target->addrs = {*addr};
      co_return co_await cascade->run(std::move(target), std::move(call));
    }
    if (via != Via::nats && uses(Transport::libp2p) && directory.resolve(peer).empty()) {
      if (auto id = crypto::PeerId::parse(peer)) {
        auto target = std::make_shared<agent::CallTarget>();
        target->label = peer;
        target->peer_id = *id;
        target->addrs = agent::dialable_addrs(p2p->host(), *id, {});
        if (p2p->host().find_connection(*id) || !target->addrs.empty()) {
          try {
            co_return co_await cascade->run(std::move(target), call);
          } catch (const CallError& e) {
            // Not reached over libp2p: an announcement may still give the broker a way.
            if (!nats || via != Via::any || !transport_failure(e)) throw;
          }
        }
      }
    }
    for (const auto& source : sources) {
      if (!directory.resolve(peer).empty()) break;
      co_await source->find(peer);
    }
    directory.expire(agent::unix_ms());
    const auto& a = resolve(peer).announcement;
    auto target = std::make_shared<agent::CallTarget>();
    target->label = a.agent_id;
    target->agent_id = a.agent_id;
    target->peer_id = a.peer_id;
    if (p2p) target->addrs = agent::dialable_addrs(p2p->host(), a.peer_id, a.addresses);
    target->session_key = a.x25519_key;
    target->identity_key = a.public_key;
    co_return co_await cascade->run(std::move(target), std::move(call));
  }

  // The cascade's order: NodeOptions::transports, then the transports left out of it, which only
  // a `via` that forces them asks for (and which then fail with the reason).
  void build_cascade() {
    std::vector<agent::CascadeTier> order;
    auto tier_of = [&](Transport t) {
      if (t == Transport::libp2p) {
        agent::CascadeTier tier{"libp2p", {Via::direct, Via::relay}, nullptr, "libp2p is not among this node's transports"};
        if (uses(Transport::libp2p) && p2p) tier.transport = std::make_shared<agent::Libp2pTransport>(p2p, agent_id);
        return tier;
      }
      return agent::CascadeTier{"nats", {Via::nats}, uses(Transport::nats) ? nats : nullptr, "this node has no NATS broker"};
    };
    for (auto t : options.transports) order.push_back(tier_of(t));
    for (auto t : {Transport::libp2p, Transport::nats})
      if (!uses(t)) order.push_back(tier_of(t));
    cascade = std::make_unique<agent::Cascade>(executor, clock, std::move(order));
    std::weak_ptr<Impl> weak = shared_from_this();
    cascade->on_failed_attempt([weak](const agent::CascadeTier& tier, const agent::CallOutcome& outcome) {
      auto self = weak.lock();
      if (!self || tier.name != "libp2p") return;
      ++self->counters.libp2p_attempts_failed;
      logger()->debug("libp2p attempt failed: {}", outcome.failure.value_or(""));
    });
  }

  awaitable<void> start_nats() {
    nats::ClientOptions client;
    client.urls = agent::resolve_nats_urls(options.nats_urls);
    client.name = "stargate " + options.display_name;
    client.user = options.nats_user;
    client.password = options.nats_password;
    client.token = options.nats_token;
    client.token_file = options.nats_token_file;
    client.creds_file = options.nats_creds_file;
    client.connect_timeout = options.connect_timeout;
    auto endpoint = std::make_shared<agent::NatsEndpoint>(executor, *identity, agent_id, dispatcher, rejections);
    // With libp2p listening, the broker is one way in among others: an unreachable one is a
    // warning, and nats.c keeps trying in the background.
    if (!co_await endpoint->connect(std::move(client), p2p->listening())) co_return;
    nats = endpoint;
    const bool serve = !options.client_only;
    nats->start(serve);
    nats_discovery = std::make_shared<agent::NatsDiscovery>(executor, nats->client(), intake, signer(), options.discovery_window);
    nats_discovery->start(serve);
    sources.push_back(nats_discovery);
    co_await nats->flush(std::chrono::milliseconds(options.connect_timeout));
  }

  void start_p2p() {
    auto p2p_settings = agent::p2p_options(options);
    std::weak_ptr<Impl> weak = shared_from_this();
    p2p_settings.a2a.on_refused = [weak](const crypto::PeerId& caller, agent::A2aRefusal why) {
      if (auto self = weak.lock()) self->dispatcher->refused(caller, why);
    };
    p2p = std::make_shared<agent::P2pEndpoint>(executor, *identity, std::move(p2p_settings));
    if (options.client_only) return;
    agent::A2aStreamService streams;
    streams.open = [weak](std::string opening, p2p::ConnectionInfo connection) -> awaitable<agent::StreamAttachment> {
      auto self = weak.lock();
      if (!self) throw ErrorException("node is gone");
      co_return co_await self->open_p2p_stream(std::move(opening), std::move(connection));
    };
    streams.ended = [weak](const agent::ServedStream& stream) {
      if (auto self = weak.lock()) self->dispatcher->stream_ended(stream);
    };
    p2p->start([weak](std::string request, p2p::ConnectionInfo connection) -> awaitable<std::string> {
      auto self = weak.lock();
      if (!self) throw ErrorException("node is gone");
      co_return co_await self->respond_p2p(std::move(request), std::move(connection));
    }, std::move(streams));
    // A peer in back-off is refused: its new connections are closed as soon as they are up.
    p2p->host().on_connection([weak](const std::shared_ptr<p2p::MuxedConnection>& connection) {
      auto self = weak.lock();
      if (!self) return;
      const auto& peer = connection->info().remote_peer;
      const auto now = std::chrono::steady_clock::now();
      if (!self->dispatcher->backed_off(peer.to_string(), now)) {
        auto id = agent::agent_id_of(peer);
        if (!id || !self->intake.backed_off(*id, now)) return;
      }
      ++self->counters.connections_refused_backoff;
      // Closed after the other hooks (identify, DCUtR) have run on it.
      asio::post(self->executor, [connection] { connection->close(); });
    });
    p2p->on_addresses_changed([weak] {
      // New listen or relayed addresses: tell everyone at once rather than at the next refresh,
      // and the DHT's copy soon (several changes in a row, as reservations come in, make one).
      auto self = weak.lock();
      if (!self || !self->started || self->stopped) return;
      self->publish_announcement();
      if (self->dht_discovery) self->dht_discovery->refresh();
    });
    if (auto* pubsub = p2p->gossip()) {
      gossip_discovery = std::make_shared<agent::GossipDiscovery>(executor, pubsub->shared_from_this(), intake);
      gossip_discovery->start();
    }
    if (auto* table = p2p->dht()) {
      table->add_validator(std::string(agent::kDhtNamespace), agent::announcement_validator([] { return agent::unix_ms(); }));
      agent::DhtDiscoveryOptions dht;
      dht.capabilities = options.capabilities;
      dht.republish_interval = options.dht_republish_interval;
      dht.find_relays = options.relays.empty();
      dht_discovery = std::make_shared<agent::DhtDiscovery>(executor, p2p, intake, signer(), agent_id, std::move(dht));
    }
  }

  NodeStatus status() const {
    NodeStatus s = counters;
    s.metrics_address = metrics_address;
    s.agent_id = agent_id;
    s.peer_id = peer_id;
    s.name = options.display_name;
    s.nats_connected = nats && nats->connected();
    if (nats) {
      const auto traffic = nats->client()->traffic();
      s.nats_bytes_in = traffic.bytes_in;
      s.nats_bytes_out = traffic.bytes_out;
    }
    s.known_peers = directory.size();
    const auto& served = dispatcher->counters();
    s.requests_served = served.requests_served;
    s.requests_deduplicated = served.requests_deduplicated;
    s.handlers_cancelled = served.handlers_cancelled;
    s.streams_open = dispatcher->streams().size();
    s.streams_resumed = served.streams_resumed;
    s.stream_buffered_bytes = dispatcher->streams().buffered_bytes();
    s.requests_rate_limited = served.requests_rate_limited;
    s.requests_rate_limited_by = served.requests_rate_limited_by;
    s.peers_backed_off = served.peers_backed_off + intake.peers_backed_off();
    s.requests_rejected = rejections->total;
    s.requests_rejected_by = rejections->by_reason;
    if (p2p) agent::add_libp2p_status(s, *p2p);
    if (dht_discovery) {
      s.dht.publishes = dht_discovery->publishes();
      s.dht.last_published = dht_discovery->last_published();
    }
    return s;
  }

  // What the directory (announcements) and libp2p's peer store (identify) know, merged: an
  // announced agent gains the addresses identify learned; an agent met only over libp2p (it speaks
  // the agent protocol) is listed without name or capabilities, which only announcements carry.
  std::vector<PeerSummary> discovered(const std::optional<std::string>& capability) const {
    std::vector<PeerSummary> out;
    std::set<std::string> listed;
    for (const auto* entry : directory.with_capability(capability.value_or(""))) {
      const auto& a = entry->announcement;
      if (a.agent_id == agent_id) continue;
      PeerSummary summary{a.agent_id, a.peer_id.to_string(), a.name, a.capabilities, {}, a.software,
                          std::chrono::system_clock::time_point(std::chrono::milliseconds(a.timestamp))};
      if (p2p)
        for (const auto& addr : agent::dialable_addrs(p2p->host(), a.peer_id, a.addresses)) summary.addresses.push_back(addr.to_string());
      listed.insert(summary.peer_id);
      out.push_back(std::move(summary));
    }
    if (!capability && p2p) {
      const auto& store = p2p->host().peer_store();
      for (const auto& id : store.peers()) {
        const auto* info = store.find(id);
        if (!info || !info->public_key || listed.contains(id.to_string()) || id.to_string() == peer_id) continue;
        if (std::find(info->protocols.begin(), info->protocols.end(), agent::kA2aProtocol) == info->protocols.end()) continue;
        PeerSummary summary;
        summary.agent_id = crypto::agent_id(*info->public_key);
        summary.peer_id = id.to_string();
        summary.software = info->agent_version;
        for (const auto& addr : agent::dialable_addrs(p2p->host(), id, {})) summary.addresses.push_back(addr.to_string());
        const auto age = std::chrono::steady_clock::now() - info->last_seen;
        summary.last_seen = std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(age);
        out.push_back(std::move(summary));
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return std::tie(x.name, x.peer_id) < std::tie(y.name, y.peer_id); });
    return out;
  }

  awaitable<void> announce_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      announce_timer.expires_after(agent::next_announce_wait(options.announce_interval, announce_jitter));
      boost::system::error_code ec;
      co_await announce_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped) break;
      directory.expire(agent::unix_ms());
      publish_announcement();
    }
  }

  void close_parts() {
    announce_timer.cancel();
    for (const auto& source : sources) source->close();
    if (dht_discovery) dht_discovery->close();
    dispatcher->stop();
    if (nats) nats->close();
    if (p2p) p2p->close();
    if (metrics_server) metrics_server->stop();
  }
};

StarGateNode::StarGateNode(asio::any_io_executor executor, NodeOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

StarGateNode::~StarGateNode() {
  impl_->stopped = true;
  impl_->close_parts();
}

void StarGateNode::handle(std::string method, Handler handler) { impl_->dispatcher->handle(std::move(method), std::move(handler)); }
void StarGateNode::handle_any(Handler handler) { impl_->dispatcher->handle_any(std::move(handler)); }
void StarGateNode::handle_stream(std::string method, StreamHandler handler) {
  impl_->dispatcher->handle_stream(std::move(method), std::move(handler));
}

awaitable<void> StarGateNode::start() {
  auto impl = impl_;
  if (impl->started) co_return;
  auto paths = crypto::resolve_identity_dir(impl->options.identity_dir);
  bool created = false;
  auto key = crypto::load_or_create_identity(paths, created);
  if (!key) throw std::runtime_error(key.error().message);
  if (created) logger()->info("created a new identity in {}", paths.key_file().string());
  impl->identity.emplace(std::move(*key));
  impl->agent_id = crypto::agent_id(impl->identity->public_key());
  impl->peer_id = crypto::PeerId::from_public_key(impl->identity->public_key()).to_string();
  impl->session_key = crypto::derive_session_static_key(*impl->identity).public_key();
  impl->intake.set_own_agent_id(impl->agent_id);

  agent::check_node_options(impl->options);
  if (!impl->uses(Transport::nats)) impl->options.use_nats = false;
  std::weak_ptr<Impl> weak = impl;
  auto disconnect = [weak](const crypto::PeerId& peer) {
    if (auto self = weak.lock()) self->disconnect(peer);
  };
  impl->dispatcher->on_backoff(disconnect);
  impl->intake.on_backoff(disconnect);
  impl->start_p2p();
  if (impl->options.use_nats) co_await impl->start_nats();
  if (impl->gossip_discovery) impl->sources.push_back(impl->gossip_discovery);
  if (impl->dht_discovery) impl->sources.push_back(impl->dht_discovery);
  impl->build_cascade();
  if (!impl->options.metrics_listen.empty()) {
    impl->metrics_server = std::make_unique<http::MetricsServer>(impl->executor, impl->registry, [weak] {
      auto self = weak.lock();
      if (!self || !self->started || self->stopped) return http::Health::unhealthy("the node is not running");
      return http::Health::healthy();
    });
    try {
      auto bound = impl->metrics_server->listen(impl->options.metrics_listen);
      impl->metrics_address = bound.address().to_string() + ":" + std::to_string(bound.port());
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot serve metrics on " + impl->options.metrics_listen + ": " + e.what());
    }
  }
  impl->started = true;
  if (impl->options.client_only) co_return;
  impl->publish_announcement();
  asio::co_spawn(impl->executor, impl->announce_loop(), asio::detached);
  if (impl->dht_discovery) {
    // Now connected to the network: announce over gossipsub to those who just met us.
    impl->dht_discovery->start([weak] {
      if (auto self = weak.lock()) self->publish_announcement();
    });
  }
}

awaitable<void> StarGateNode::announce() {
  impl_->publish_announcement();
  co_return;
}

awaitable<std::vector<PeerSummary>> StarGateNode::discover(std::optional<std::string> capability) {
  auto impl = impl_;
  for (const auto& source : std::vector(impl->sources)) co_await source->discover(capability);
  impl->directory.expire(agent::unix_ms());
  co_return impl->discovered(capability);
}

awaitable<json::value> StarGateNode::call(std::string peer, std::string method, json::value params,
                                          std::optional<std::chrono::milliseconds> timeout) {
  CallOptions options;
  options.timeout = timeout;
  co_return co_await call(std::move(peer), std::move(method), std::move(params), options);
}

awaitable<json::value> StarGateNode::call(std::string peer, std::string method, json::value params, CallOptions options) {
  auto impl = impl_;
  co_return co_await impl->call(std::move(peer), std::move(method), std::move(params),
                                options.timeout.value_or(impl->options.default_call_timeout), options.via);
}

awaitable<CallStream> StarGateNode::call_stream(std::string peer, std::string method, json::value params,
                                                CallOptions options) {
  auto impl = impl_;
  co_return CallStream(impl->call_stream(std::move(peer), std::move(method), std::move(params),
                                         options.timeout.value_or(impl->options.default_call_timeout), options.via));
}

NodeStatus StarGateNode::get_status() const { return impl_->status(); }

std::string StarGateNode::get_metrics() const { return impl_->registry.render(); }

awaitable<void> StarGateNode::stop() {
  auto impl = impl_;
  if (!impl->started || impl->stopped) co_return;
  impl->stopped = true;
  // Bounded (NodeOptions::stop_timeout): each goodbye gets what is left of it at most, and what is
  // not done then is abandoned, however peers and the broker behave.
  const auto deadline = std::chrono::steady_clock::now() + impl->options.stop_timeout;
  auto time_left = [deadline](std::chrono::milliseconds most) {
    const auto rest = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return std::clamp(rest, std::chrono::milliseconds(0), most);
  };
  impl->announce_timer.cancel();
  if (impl->metrics_server) impl->metrics_server->stop();
  if (!impl->options.client_only) {
    const auto leave = impl->signed_announcement(agent::AnnouncementKind::leave);
    // Over gossipsub before the host closes; over the broker after.
    if (impl->gossip_discovery) co_await impl->gossip_discovery->leave(leave, time_left(std::chrono::milliseconds(500)));
    if (impl->p2p) impl->p2p->close();
    if (impl->nats_discovery) co_await impl->nats_discovery->leave(leave, time_left(std::chrono::milliseconds(1000)));
  }
  impl->close_parts();
}

const std::string& StarGateNode::agent_id() const { return impl_->agent_id; }
const std::string& StarGateNode::peer_id() const { return impl_->peer_id; }

}  // namespace stargate
