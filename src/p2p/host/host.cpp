#include "p2p/host/host.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "base/log_throttle.hpp"
#include "p2p/host/connection_pool_io.hpp"
#include "p2p/host/multistream_io.hpp"
#include "p2p/host/noise_io.hpp"
#include "p2p/tcp/interface_addrs.hpp"
#include "p2p/tcp/tcp_address.hpp"
#include "p2p/tcp/tcp_stream.hpp"

#include <algorithm>
#include <map>

namespace stargate::p2p {
namespace {

// A peer's key in the resource manager: its binary multihash, not the base58 text (which costs
// an encoding per stream; the manager never shows which peer is the busiest).
std::string resource_key(const crypto::PeerId& peer) { return std::string(peer.bytes().begin(), peer.bytes().end()); }

// Moves an outbound stream into its protocol's scope; resets it when that scope is full.
void admit_protocol(MuxedStream& stream, const std::string& protocol) {
  std::string why;
  // A stream reset while it negotiated has left its scopes already; its next read says so.
  if (stream.resources() && !stream.resources().set_protocol(protocol, why)) {
    stream.reset();
    throw ResourceLimitExceeded(why);
  }
  stream.set_protocol(protocol);
}

}  // namespace

// One hole punch in progress: the dials (and accepted sockets) racing to connect to the peer.
struct PunchAttempt {
  PunchAttempt(asio::any_io_executor ex, crypto::PeerId p, PunchRole r) : peer(std::move(p)), role(r), done(ex) {}
  crypto::PeerId peer;
  PunchRole role;
  Signal done;
  std::shared_ptr<MuxedConnection> result;
  int pending = 0;
  std::string errors;

  // A racer finished: the first connection wins, later ones are closed.
  void finish(std::shared_ptr<MuxedConnection> connection, const std::string& error) {
    --pending;
    if (connection && !result) {
      result = std::move(connection);
    } else if (connection) {
      connection->close();
    } else if (!error.empty()) {
      errors += (errors.empty() ? "" : "; ") + error;
    }
    done.notify_all();
  }
};

// A direct dial in progress to a known peer. A second connect() to that peer waits for it instead
// of opening a parallel connection (as go-libp2p's dial sync does): two connections from the
// same listen port to the same address cannot both exist, so the second would leave from an
// ephemeral port and its observed address would mislead the NAT classifier.
struct PendingDial {
  explicit PendingDial(asio::any_io_executor ex) : done(ex) {}
  Signal done;
  bool finished = false;
};

using PendingDials = std::map<crypto::PeerId, std::shared_ptr<PendingDial>>;

// Registers a dial as the one others wait for (when none is registered yet) and, however the dial
// ends (result, exception, or the coroutine destroyed), wakes them and unregisters it.
class DialRegistration {
 public:
  DialRegistration(PendingDials& dials, const std::optional<crypto::PeerId>& peer, asio::any_io_executor ex)
      : dials_(dials) {
    if (!peer || dials.contains(*peer)) return;
    peer_ = *peer;
    mine_ = std::make_shared<PendingDial>(ex);
    dials.emplace(*peer_, mine_);
  }
  DialRegistration(const DialRegistration&) = delete;
  DialRegistration& operator=(const DialRegistration&) = delete;
  ~DialRegistration() {
    if (!mine_) return;
    mine_->finished = true;
    mine_->done.notify_all();
    if (auto it = dials_.find(*peer_); it != dials_.end() && it->second == mine_) dials_.erase(it);
  }

 private:
  PendingDials& dials_;
  std::optional<crypto::PeerId> peer_;
  std::shared_ptr<PendingDial> mine_;
};

struct Host::Impl : std::enable_shared_from_this<Host::Impl> {
  Impl(asio::any_io_executor ex, crypto::Ed25519PrivateKey key, HostConfig cfg)
      : executor(ex),
        identity(std::move(key)),
        peer_id(crypto::PeerId::from_public_key(identity.public_key())),
        noise_key(noise::StaticNoiseKey::generate(identity)),
        config(std::move(cfg)),
        resources(ResourceManager::create(config.limits)),
        pool(std::make_shared<PoolKeeper>(ex, config.pool)) {
    config.mux.yamux.max_streams = config.limits.max_streams_per_connection;
    config.mux.yamux.max_window = static_cast<std::uint32_t>(config.limits.max_stream_buffer);
    config.mux.yamux.max_connection_window_growth = config.limits.max_memory_per_connection;
  }

  asio::any_io_executor executor;
  crypto::Ed25519PrivateKey identity;
  crypto::PeerId peer_id;
  noise::StaticNoiseKey noise_key;
  HostConfig config;
  std::shared_ptr<ResourceManager> resources;
  std::shared_ptr<PoolKeeper> pool;
  PeerStore peer_store;
  std::map<std::string, StreamHandler, std::less<>> handlers;
  std::vector<ConnectionHook> hooks;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<Multiaddr> listen_addrs;
  std::map<std::string, std::vector<Multiaddr>> external_addrs;
  std::vector<std::function<void()>> addr_hooks;
  CircuitDialer circuit_dialer;
  std::multimap<crypto::PeerId, std::weak_ptr<MuxedConnection>> connections;
  PendingDials dials;
  // Hole punches in progress, by the remote endpoint they dial: a socket accepted from one of
  // these is the peer's side of the punch, upgraded with the punch's role.
  std::map<tcp::endpoint, std::weak_ptr<PunchAttempt>> punches;
  // Bytes on every TCP socket of this host (relayed connections travel inside those).
  std::shared_ptr<ByteCounters> traffic = std::make_shared<ByteCounters>();
  // Inbound handshakes in progress, by their number in the resource manager's table: one evicted
  // there (its source held the most slots) is aborted here.
  std::unordered_map<std::uint64_t, ByteStream*> upgrading;
  OffenderTracker handshake_offenders{config.handshake_offenders};
  LogThrottle refusal_log;
  bool closed = false;

  // The listen endpoint to dial `remote` from (same family; not a loopback listener for a
  // remote that is not loopback), or none.
  std::optional<tcp::endpoint> listen_endpoint_for(const tcp::endpoint& remote) const;
  awaitable<tcp::socket> dial(const tcp::endpoint& remote, std::optional<tcp::endpoint> bind_to,
                              Clock::duration timeout);
  awaitable<void> race_punch(std::shared_ptr<PunchAttempt> attempt, tcp::socket socket);

  awaitable<void> accept_loop(tcp::acceptor& acceptor);
  // An IP that held a handshake slot without progress; true when it is now in back-off.
  void strike_handshake_source(const std::string& ip);
  bool exempt(const asio::ip::address& ip) const { return ip.is_loopback() && config.limits.loopback_exempt; }
  // Logs a refused inbound connection, at most once per interval (an attacker repeats them at will).
  void log_refusal(const std::string& what);
  awaitable<std::shared_ptr<MuxedConnection>> upgrade_tcp(tcp::socket socket, bool outbound,
                                                          std::optional<crypto::PeerId> expected);
  awaitable<std::shared_ptr<MuxedConnection>> upgrade(std::unique_ptr<ByteStream> raw, UpgradeContext context);
  void register_connection(const std::shared_ptr<MuxedConnection>& connection, ResourceGrant grant);
  void dispatch_inbound(std::shared_ptr<MuxedStream> stream);
  awaitable<void> serve_stream(std::shared_ptr<MuxedStream> stream);
  std::shared_ptr<MuxedConnection> find(const crypto::PeerId& peer) const;
};

awaitable<void> Host::Impl::accept_loop(tcp::acceptor& acceptor) {
  auto self = shared_from_this();
  while (!closed) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || closed) break;
      log::module<"p2p">()->warn("accept failed: {}", ec.message());
      continue;
    }
    boost::system::error_code ignored;
    const auto remote_endpoint = socket.remote_endpoint(ignored);
    if (handshake_offenders.backed_off(remote_endpoint.address().to_string(), Clock::now())) {
      // Closed with a reset before a byte is read: the cheapest answer to a source that stalls.
      resources->count_refusal("ip handshake_backoff");
      log_refusal("inbound connection from " + remote_endpoint.address().to_string() +
                  " refused: in back-off for stalling handshakes");
      socket.set_option(asio::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
      continue;
    }
    if (auto it = punches.find(remote_endpoint); it != punches.end()) {
      if (auto attempt = it->second.lock()) {
        // The peer's side of a hole punch arrived here rather than at our dialing socket.
        ++attempt->pending;
        asio::co_spawn(executor, race_punch(attempt, std::move(socket)), asio::detached);
        continue;
      }
    }
    // Each inbound connection is upgraded on its own coroutine so a slow peer delays no one.
    asio::co_spawn(executor, [self, socket = std::move(socket)]() mutable -> awaitable<void> {
      boost::system::error_code ignored;
      auto remote = socket.remote_endpoint(ignored);
      try {
        co_await self->upgrade_tcp(std::move(socket), false, std::nullopt);
      } catch (const std::exception& e) {
        self->log_refusal("inbound connection from " + remote.address().to_string() + " refused: " + e.what());
      }
    }, asio::detached);
  }
}

awaitable<std::shared_ptr<MuxedConnection>> Host::Impl::upgrade_tcp(tcp::socket socket, bool outbound,
                                                                    std::optional<crypto::PeerId> expected) {
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  auto local = socket.local_endpoint(ec);
  UpgradeContext context;
  context.outbound = outbound;
  context.expected = std::move(expected);
  context.local_addr = to_multiaddr(local);
  context.remote_addr = to_multiaddr(remote);
  context.remote_ip = remote.address();
  co_return co_await upgrade(std::make_unique<TcpStream>(std::move(socket), traffic), std::move(context));
}

awaitable<std::shared_ptr<MuxedConnection>> Host::Impl::upgrade(std::unique_ptr<ByteStream> raw,
                                                                UpgradeContext context) {
  auto self = shared_from_this();
  std::string why;
  const std::optional<asio::ip::address> source = context.outbound ? std::nullopt : context.remote_ip;
  auto start = resources->begin_handshake(source, context.relayed && !context.outbound, why);
  if (!start.grant) {
    raw->reset();
    throw ErrorException(why);
  }
  auto handshake_grant = std::move(start.grant);
  const auto handshake_id = handshake_grant.handshake_id();
  if (start.evicted) {
    // Its source held the most slots: it gives its oldest to this one, and earns a strike.
    if (auto it = upgrading.find(*start.evicted); it != upgrading.end()) it->second->reset();
    log_refusal("pending handshake from " + start.evicted_source + " aborted to make room for another source");
    strike_handshake_source(start.evicted_source);
  }
  ByteStream* raw_ptr = raw.get();
  const auto timeout =
      start.under_pressure ? std::min(config.upgrade_timeout, config.upgrade_timeout_under_pressure) : config.upgrade_timeout;
  Deadline deadline(executor, timeout, [raw_ptr] { raw_ptr->reset(); });
  SecureChannel channel;
  // Known while the handshake runs, so that an eviction can abort it; gone however it ends
  // (declared after `channel`, which owns the raw stream: destroyed before it).
  upgrading[handshake_id] = raw_ptr;
  struct Forget {
    Impl& impl;
    std::uint64_t id;
    ~Forget() { impl.upgrading.erase(id); }
  } forget{*this, handshake_id};
  // Named vectors, not braced lists in co_await expressions: g++ 12 miscompiles those.
  std::vector<std::string> security{noise_protocol_id};
  std::vector<std::string> muxers{yamux_protocol_id};
  auto is_noise = [](std::string_view p) { return p == noise_protocol_id; };
  auto is_yamux = [](std::string_view p) { return p == yamux_protocol_id; };
  try {
    if (context.outbound) {
      co_await select_outbound(*raw, security);
      channel = co_await secure_outbound(std::move(raw), noise_key, context.expected);
      co_await select_outbound(*channel.stream, muxers);
    } else {
      co_await select_inbound(*raw, is_noise, security);
      channel = co_await secure_inbound(std::move(raw), noise_key);
      co_await select_inbound(*channel.stream, is_yamux, muxers);
    }
  } catch (...) {
    if (deadline.expired()) {
      if (source) strike_handshake_source(source->to_string());
      throw ErrorException("connection upgrade timed out");
    }
    throw;
  }
  deadline.cancel();
  upgrading.erase(handshake_id);
  handshake_grant.release();
  if (context.expected && channel.remote_peer != *context.expected) {
    // Outbound, secure_outbound() checked it already; inbound, the relay named the peer to expect.
    channel.stream->reset();
    throw ErrorException("peer authenticated as " + channel.remote_peer.to_string() + ", expected " +
                         context.expected->to_string());
  }

  auto grant = resources->admit_connection(context.remote_ip, resource_key(channel.remote_peer), why);
  if (!grant) {
    channel.stream->reset();
    throw ErrorException(why);
  }
  ConnectionInfo info{channel.remote_peer,   std::move(context.local_addr), std::move(context.remote_addr),
                      context.outbound,      context.relayed,               context.data_limit,
                      context.duration_limit, Clock::now()};
  auto connection = std::make_shared<MuxedConnection>(executor, std::move(channel.stream), info, config.mux);
  connection->set_memory_budget(resources->connection_memory(resource_key(info.remote_peer)));
  register_connection(connection, std::move(grant));
  co_return connection;
}

void Host::Impl::strike_handshake_source(const std::string& ip) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(ip, ec);
  if (ec || exempt(address)) return;  // "circuit" (relayed), or exempt loopback
  if (handshake_offenders.strike(ip, Clock::now()))
    log::module<"p2p">()->info("{} keeps stalling handshakes: its connections are refused for {} ms", ip,
                   config.handshake_offenders.backoff.count());
}

void Host::Impl::log_refusal(const std::string& what) {
  std::uint64_t suppressed = 0;
  if (!refusal_log.allow(Clock::now(), suppressed)) return;
  if (suppressed > 0)
    log::module<"p2p">()->info("{} ({} more refusals not logged)", what, suppressed);
  else
    log::module<"p2p">()->info("{}", what);
}

void Host::Impl::register_connection(const std::shared_ptr<MuxedConnection>& connection, ResourceGrant grant) {
  const auto& info = connection->info();
  log::module<"p2p">()->debug("{} connection with {} at {}", info.outbound ? "outbound" : "inbound", info.remote_peer.to_string(),
                  info.remote_addr.to_string());
  auto it = connections.emplace(info.remote_peer, connection);
  auto pool_id = pool->add(connection);
  std::weak_ptr<Impl> weak_self = shared_from_this();
  auto shared_grant = std::make_shared<ResourceGrant>(std::move(grant));
  connection->on_closed([weak_self, it, shared_grant, pool_id] {
    shared_grant->release();
    if (auto self = weak_self.lock()) {
      self->connections.erase(it);
      self->pool->remove(pool_id);
    }
  });
  if (info.outbound && !info.relayed) peer_store.add_addrs(info.remote_peer, {info.remote_addr});
  peer_store.upsert(info.remote_peer);
  connection->start([weak_self](std::shared_ptr<MuxedStream> stream) {
    if (auto self = weak_self.lock())
      self->dispatch_inbound(std::move(stream));
    else
      stream->reset();
  });
  for (const auto& hook : hooks) hook(connection);
}

void Host::Impl::dispatch_inbound(std::shared_ptr<MuxedStream> stream) {
  // Admitted before any work is spent on it: a refused stream is reset at once.
  std::string why;
  auto scope = resources->open_stream(resource_key(stream->connection().info().remote_peer), why);
  if (!scope) {
    log::module<"p2p">()->debug("inbound stream from {} refused: {}", stream->connection().info().remote_peer.to_string(), why);
    stream->reset();
    return;
  }
  stream->set_resources(std::move(scope));
  asio::co_spawn(executor, serve_stream(std::move(stream)), asio::detached);
}

awaitable<void> Host::Impl::serve_stream(std::shared_ptr<MuxedStream> stream) {
  // `self` keeps the host state alive while the stream is served. (No co_return inside catch
  // blocks here: g++ 12 destroys coroutine locals twice in that shape.)
  auto self = shared_from_this();
  StreamHandler handler;
  std::string failure;
  try {
    MuxedStream* raw = stream.get();
    Deadline deadline(executor, config.negotiation_timeout, [raw] { raw->reset(); });
    std::vector<std::string> listed;
    for (const auto& [name, h] : handlers) listed.push_back(name);
    auto supported = [self](std::string_view p) { return self->handlers.find(p) != self->handlers.end(); };
    auto protocol = co_await select_inbound(*stream, supported, listed);
    deadline.cancel();
    if (auto it = handlers.find(protocol); it != handlers.end()) {
      if (stream->resources().set_protocol(protocol, failure)) {
        handler = it->second;
        stream->set_protocol(protocol);
      }
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!handler) {
    log::module<"p2p">()->debug("inbound stream negotiation failed: {}", failure);
    stream->reset();
  } else {
    try {
      co_await handler(stream);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      log::module<"p2p">()->debug("handler for {} failed: {}", stream->protocol(), failure);
      stream->reset();
    }
  }
}

std::shared_ptr<MuxedConnection> Host::Impl::find(const crypto::PeerId& peer) const {
  std::shared_ptr<MuxedConnection> relayed;
  auto [begin, end] = connections.equal_range(peer);
  for (auto it = begin; it != end; ++it) {
    auto c = it->second.lock();
    if (!c || c->is_closing()) continue;  // closing: GoAway sent, no new streams
    if (!c->info().relayed) return c;
    if (!relayed) relayed = c;
  }
  return relayed;
}

std::optional<tcp::endpoint> Host::Impl::listen_endpoint_for(const tcp::endpoint& remote) const {
  for (const auto& acceptor : acceptors) {
    boost::system::error_code ec;
    auto local = acceptor->local_endpoint(ec);
    if (ec || local.protocol() != remote.protocol()) continue;
    if (local.address().is_loopback() && !remote.address().is_loopback()) continue;
    return local;
  }
  return std::nullopt;
}

awaitable<tcp::socket> Host::Impl::dial(const tcp::endpoint& remote, std::optional<tcp::endpoint> bind_to,
                                        Clock::duration timeout) {
  tcp::socket socket(executor);
  auto* socket_ptr = &socket;
  Deadline deadline(executor, timeout, [socket_ptr] {
    boost::system::error_code ignored;
    socket_ptr->close(ignored);
  });
  try {
    socket.open(remote.protocol());
    if (bind_to) bind_to_listen_port(socket, *bind_to);
    co_await socket.async_connect(remote, use_awaitable);
  } catch (...) {
    if (deadline.expired()) throw ErrorException("dial timed out");
    throw;
  }
  deadline.cancel();
  tune_socket(socket);
  co_return socket;
}

awaitable<void> Host::Impl::race_punch(std::shared_ptr<PunchAttempt> attempt, tcp::socket socket) {
  auto self = shared_from_this();
  std::shared_ptr<MuxedConnection> connection;
  std::string error;
  if (attempt->result) {
    boost::system::error_code ignored;
    socket.close(ignored);  // another racer already won
  } else {
    try {
      connection = co_await upgrade_tcp(std::move(socket), attempt->role == PunchRole::client, attempt->peer);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  attempt->finish(std::move(connection), error);
}

awaitable<std::shared_ptr<MuxedConnection>> Host::punch(const crypto::PeerId& peer, std::vector<Multiaddr> addrs,
                                                        PunchRole role, Clock::duration timeout, Clock::duration delay) {
  auto impl = impl_;
  auto attempt = std::make_shared<PunchAttempt>(impl->executor, peer, role);
  std::vector<tcp::endpoint> endpoints;
  for (const auto& addr : addrs) {
    if (auto endpoint = to_tcp_endpoint(addr.without_peer_id())) endpoints.push_back(*endpoint);
  }
  if (endpoints.empty()) throw ErrorException("no TCP address to punch to");
  // From now on a socket accepted from one of these endpoints is the peer's side of the punch.
  for (const auto& endpoint : endpoints) impl->punches[endpoint] = attempt;
  bool expired = false;
  Deadline deadline(impl->executor, delay + timeout, [attempt, &expired] {
    expired = true;
    attempt->done.notify_all();
  });
  if (delay > Clock::duration::zero()) {
    asio::steady_timer wait(impl->executor, delay);
    co_await wait.async_wait(use_awaitable);
  }
  for (const auto& endpoint : endpoints) {
    auto bind_to = impl->listen_endpoint_for(endpoint);
    if (!bind_to) {
      attempt->errors += (attempt->errors.empty() ? "" : "; ") + to_multiaddr(endpoint).to_string() +
                         ": no listen port to punch from";
      continue;
    }
    if (attempt->result) break;
    ++attempt->pending;
    asio::co_spawn(impl->executor, [impl, attempt, endpoint, bind_to, timeout]() -> awaitable<void> {
      std::optional<tcp::socket> socket;
      std::string error;
      bool tuple_taken = false;
      try {
        socket.emplace(co_await impl->dial(endpoint, bind_to, timeout));
      } catch (const SystemError& e) {
        error = to_multiaddr(endpoint).to_string() + ": " + e.code().message();
        tuple_taken = e.code() == boost::system::errc::address_not_available ||
                      e.code() == boost::system::errc::address_in_use;
      } catch (const std::exception& e) {
        error = to_multiaddr(endpoint).to_string() + ": " + e.what();
      }
      if (socket) {
        co_await impl->race_punch(attempt, std::move(*socket));
        co_return;
      }
      if (tuple_taken) {
        // Our 4-tuple is in use: the peer's SYN reached our listener first and that connection is
        // being accepted (and raced); give it the rest of the time.
        bool gave_up = false;
        Deadline limit(impl->executor, timeout, [attempt, &gave_up] {
          gave_up = true;
          attempt->done.notify_all();
        });
        while (!attempt->result && !gave_up) co_await attempt->done.wait();
      }
      attempt->finish(nullptr, error);
    }, asio::detached);
  }
  while (!attempt->result && attempt->pending > 0 && !expired) co_await attempt->done.wait();
  deadline.cancel();
  for (const auto& endpoint : endpoints) {
    if (auto it = impl->punches.find(endpoint); it != impl->punches.end() && it->second.lock() == attempt)
      impl->punches.erase(it);
  }
  if (attempt->result) co_return attempt->result;
  if (auto existing = impl->find(peer); existing && !existing->info().relayed) co_return existing;
  throw ErrorException("hole punch to " + peer.to_string() + " failed: " +
                       (expired ? std::string("timed out") : attempt->errors));
}

// ---------------------------------------------------------------- Host

Host::Host(asio::any_io_executor executor, crypto::Ed25519PrivateKey identity, HostConfig config)
    : impl_(std::make_shared<Impl>(executor, std::move(identity), std::move(config))) {}

Host::~Host() { close(); }

const crypto::PeerId& Host::peer_id() const { return impl_->peer_id; }
const crypto::Ed25519PrivateKey& Host::identity() const { return impl_->identity; }
const HostConfig& Host::config() const { return impl_->config; }
asio::any_io_executor Host::executor() const { return impl_->executor; }
PeerStore& Host::peer_store() { return impl_->peer_store; }
const PeerStore& Host::peer_store() const { return impl_->peer_store; }
ResourceManager& Host::resources() { return *impl_->resources; }

ResourceUsage Host::resource_usage() const {
  auto usage = impl_->resources->usage();
  std::size_t busiest = 0;
  for (const auto& connection : connections()) busiest = std::max(busiest, connection->stream_count());
  for (auto& scope : usage.scopes) {
    if (scope.scope == "connection")
      scope.gauges.insert(scope.gauges.begin(),
                          ResourceGauge{"streams", busiest, impl_->config.limits.max_streams_per_connection});
  }
  return usage;
}

Multiaddr Host::listen(const Multiaddr& addr) {
  auto endpoint = to_tcp_endpoint(addr);
  if (!endpoint) throw ErrorException("cannot listen on " + addr.to_string() + ": " + endpoint.error().message);
  auto acceptor = std::make_unique<tcp::acceptor>(listen_tcp(impl_->executor, *endpoint));
  auto bound = to_multiaddr(acceptor->local_endpoint());
  impl_->listen_addrs.push_back(bound);
  auto& ref = *acceptor;
  impl_->acceptors.push_back(std::move(acceptor));
  asio::co_spawn(impl_->executor, impl_->accept_loop(ref), asio::detached);
  return bound;
}

std::vector<Multiaddr> Host::listen_addrs() const { return impl_->listen_addrs; }

std::vector<Multiaddr> Host::advertised_addrs() const {
  std::vector<Multiaddr> out;
  auto add = [&out](const Multiaddr& addr) {
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  };
  for (const auto& listen : impl_->listen_addrs) {
    for (const auto& addr : expand_unspecified(listen)) add(addr);
  }
  for (const auto& [source, addrs] : impl_->external_addrs) {
    for (const auto& addr : addrs) add(addr);
  }
  return out;
}

void Host::set_external_addrs(const std::string& source, std::vector<Multiaddr> addrs) {
  auto& slot = impl_->external_addrs[source];
  if (slot == addrs) return;
  slot = std::move(addrs);
  for (const auto& hook : impl_->addr_hooks) hook();
}

void Host::on_addrs_changed(std::function<void()> hook) { impl_->addr_hooks.push_back(std::move(hook)); }

void Host::set_circuit_dialer(CircuitDialer dialer) { impl_->circuit_dialer = std::move(dialer); }

awaitable<std::shared_ptr<MuxedConnection>> Host::upgrade(std::unique_ptr<ByteStream> raw, UpgradeContext context) {
  auto impl = impl_;
  co_return co_await impl->upgrade(std::move(raw), std::move(context));
}

void Host::set_handler(const std::string& protocol, StreamHandler handler) {
  impl_->handlers[protocol] = std::move(handler);
}

void Host::remove_handler(const std::string& protocol) {
  if (auto it = impl_->handlers.find(protocol); it != impl_->handlers.end()) impl_->handlers.erase(it);
}

std::vector<std::string> Host::protocols() const {
  std::vector<std::string> out;
  for (const auto& [name, handler] : impl_->handlers) out.push_back(name);
  return out;
}

void Host::on_connection(ConnectionHook hook) { impl_->hooks.push_back(std::move(hook)); }

awaitable<std::shared_ptr<MuxedConnection>> Host::connect(const Multiaddr& addr) {
  auto impl = impl_;
  std::optional<crypto::PeerId> expected;
  if (auto id_bytes = addr.peer_id_bytes()) {
    auto id = crypto::PeerId::from_bytes(*id_bytes);
    if (!id) throw ErrorException("bad peer ID in " + addr.to_string() + ": " + id.error().message);
    if (*id == impl->peer_id) throw ErrorException("refusing to dial our own peer ID");
    expected = *id;
    if (auto existing = impl->find(*id); existing && (addr.is_circuit() || !existing->info().relayed)) {
      impl->pool->hit(*existing);
      co_return existing;
    }
  }
  if (addr.is_circuit()) {
    impl->pool->miss();
    if (!impl->circuit_dialer) throw ErrorException("cannot dial " + addr.to_string() + ": relay transport not enabled");
    co_return co_await impl->circuit_dialer(addr);
  }
  if (expected) {
    if (auto it = impl->dials.find(*expected); it != impl->dials.end()) {
      auto pending = it->second;
      while (!pending->finished) co_await pending->done.wait();
      if (auto existing = impl->find(*expected); existing && !existing->info().relayed) {
        impl->pool->hit(*existing);
        co_return existing;
      }
      // That dial failed: this address may still work.
    }
  }
  impl->pool->miss();
  DialRegistration registration(impl->dials, expected, impl->executor);
  auto endpoints = co_await resolve_tcp(addr.without_peer_id());
  std::string errors;
  for (const auto& endpoint : endpoints) {
    try {
      std::optional<tcp::endpoint> bind_to;
      if (impl->config.dial_from_listen_port) bind_to = impl->listen_endpoint_for(endpoint);
      std::optional<tcp::socket> socket;
      bool port_taken = false;
      try {
        socket.emplace(co_await impl->dial(endpoint, bind_to, impl->config.dial_timeout));
      } catch (const SystemError& e) {
        // This 4-tuple is still taken (TIME_WAIT of an earlier connection to the same peer).
        if (!bind_to || (e.code() != boost::system::errc::address_not_available && e.code() != boost::system::errc::address_in_use))
          throw;
        port_taken = true;
      }
      if (port_taken) {
        std::optional<tcp::endpoint> ephemeral;
        socket.emplace(co_await impl->dial(endpoint, ephemeral, impl->config.dial_timeout));
      }
      co_return co_await impl->upgrade_tcp(std::move(*socket), true, expected);
    } catch (const SystemError& e) {
      if (!errors.empty()) errors += "; ";
      errors += to_multiaddr(endpoint).to_string() + ": " + e.code().message();
    } catch (const std::exception& e) {
      if (!errors.empty()) errors += "; ";
      errors += to_multiaddr(endpoint).to_string() + ": " + e.what();
    }
  }
  throw ErrorException("cannot connect to " + addr.to_string() + ": " + errors);
}

awaitable<std::shared_ptr<MuxedConnection>> Host::connect(const crypto::PeerId& peer) {
  auto impl = impl_;
  if (auto existing = impl->find(peer)) {
    impl->pool->hit(*existing);
    co_return existing;
  }
  const auto* info = impl->peer_store.find(peer);
  if (!info || info->addrs.empty()) throw ErrorException("no known address for " + peer.to_string());
  auto addrs = info->addrs;
  std::string errors;
  for (const auto& addr : addrs) {
    try {
      auto full = addr.encapsulate(Multiaddr::parse("/p2p/" + peer.to_string()).value());
      co_return co_await connect(full);
    } catch (const std::exception& e) {
      errors += std::string(errors.empty() ? "" : "; ") + e.what();
    }
  }
  throw ErrorException(errors);
}

awaitable<std::shared_ptr<MuxedStream>> Host::open_stream(const std::shared_ptr<MuxedConnection>& connection,
                                                          std::vector<std::string> protocols, bool confirmed) {
  std::string why;
  auto scope = impl_->resources->open_stream(resource_key(connection->info().remote_peer), why);
  if (!scope) throw ResourceLimitExceeded(why);
  auto stream = connection->open_stream();
  stream->set_resources(std::move(scope));
  if (protocols.size() == 1 && !confirmed) {
    // One candidate: no need to wait for the answer before writing (saves a round trip).
    admit_protocol(*stream, protocols.front());
    co_await select_outbound_optimistic(*stream, protocols.front());
    co_return stream;
  }
  MuxedStream* raw = stream.get();
  Deadline deadline(impl_->executor, impl_->config.negotiation_timeout, [raw] { raw->reset(); });
  try {
    auto protocol = co_await select_outbound(*stream, std::move(protocols));
    admit_protocol(*stream, protocol);
  } catch (...) {
    if (deadline.expired()) throw ErrorException("protocol negotiation timed out");
    throw;
  }
  co_return stream;
}

std::shared_ptr<MuxedConnection> Host::find_connection(const crypto::PeerId& peer) const { return impl_->find(peer); }

std::shared_ptr<MuxedConnection> Host::reuse_connection(const crypto::PeerId& peer) {
  auto connection = impl_->find(peer);
  if (connection) impl_->pool->hit(*connection);
  return connection;
}

std::shared_ptr<MuxedConnection> Host::reuse_connection(const crypto::PeerId& peer, bool relayed) {
  auto [begin, end] = impl_->connections.equal_range(peer);
  for (auto it = begin; it != end; ++it) {
    auto c = it->second.lock();
    if (!c || c->is_closed() || c->is_closing() || c->info().relayed != relayed) continue;
    impl_->pool->hit(*c);
    return c;
  }
  return nullptr;
}

pool::PoolStats Host::pool_stats() const { return impl_->pool->stats(); }

ByteCounters Host::traffic() const { return *impl_->traffic; }

void Host::protect(const crypto::PeerId& peer, const std::string& tag) { impl_->pool->protect(peer, tag); }

bool Host::unprotect(const crypto::PeerId& peer, const std::string& tag) { return impl_->pool->unprotect(peer, tag); }

std::vector<std::shared_ptr<MuxedConnection>> Host::connections() const {
  std::vector<std::shared_ptr<MuxedConnection>> out;
  for (const auto& [peer, weak] : impl_->connections) {
    if (auto c = weak.lock(); c && !c->is_closed()) out.push_back(c);
  }
  return out;
}

awaitable<Multiaddr> Host::probe_dial(const Multiaddr& addr, crypto::PeerId expected,
                                      std::chrono::milliseconds timeout) {
  auto impl = impl_;
  auto endpoint = to_tcp_endpoint(addr);
  if (!endpoint) throw ErrorException("cannot probe " + addr.to_string() + ": " + endpoint.error().message);
  std::string why;
  auto handshake_grant = impl->resources->begin_handshake(why);
  if (!handshake_grant) throw ErrorException(why);
  // Not bound: the kernel picks an ephemeral port, so the probe says nothing about our own mapping
  // and the peer sees a connection that is not the one it already has with us.
  tcp::socket socket(impl->executor);
  socket.open(endpoint->protocol());
  SecureChannel channel;
  std::unique_ptr<ByteStream> raw;
  auto* socket_ptr = &socket;
  ByteStream* raw_ptr = nullptr;
  Deadline deadline(impl->executor, timeout, [socket_ptr, &raw_ptr] {
    boost::system::error_code ignored;
    if (raw_ptr) raw_ptr->reset(); else socket_ptr->close(ignored);
  });
  std::vector<std::string> security{noise_protocol_id};
  std::vector<std::string> muxers{yamux_protocol_id};
  try {
    co_await socket.async_connect(*endpoint, use_awaitable);
    raw = std::make_unique<TcpStream>(std::move(socket), impl->traffic);
    raw_ptr = raw.get();
    co_await select_outbound(*raw, security);
    channel = co_await secure_outbound(std::move(raw), impl->noise_key, expected);
    co_await select_outbound(*channel.stream, muxers);
  } catch (...) {
    if (deadline.expired()) throw ErrorException("dial-back to " + addr.to_string() + " timed out");
    throw;
  }
  deadline.cancel();
  channel.stream->close();
  co_return to_multiaddr(*endpoint);
}

void Host::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  impl_->pool->close();
  for (auto& acceptor : impl_->acceptors) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
  for (auto& connection : connections()) connection->close();
}

}  // namespace stargate::p2p
