#include "p2p/host/host.hpp"

#include "base/log.hpp"
#include "p2p/host/deadline.hpp"
#include "p2p/host/multistream_io.hpp"
#include "p2p/host/noise_io.hpp"
#include "p2p/tcp/interface_addrs.hpp"
#include "p2p/tcp/tcp_address.hpp"
#include "p2p/tcp/tcp_stream.hpp"

#include <algorithm>
#include <map>

namespace stargate::p2p {
namespace {

auto logger() {
  static auto l = log::get("p2p");
  return l;
}

}  // namespace

struct Host::Impl : std::enable_shared_from_this<Host::Impl> {
  Impl(asio::any_io_executor ex, crypto::Ed25519PrivateKey key, HostConfig cfg)
      : executor(ex),
        identity(std::move(key)),
        peer_id(crypto::PeerId::from_public_key(identity.public_key())),
        noise_key(noise::StaticNoiseKey::generate(identity)),
        config(std::move(cfg)),
        resources(ResourceManager::create(config.limits)) {
    config.mux.yamux.max_streams = config.limits.max_streams_per_connection;
    config.mux.yamux.max_window = static_cast<std::uint32_t>(config.limits.max_stream_buffer);
  }

  asio::any_io_executor executor;
  crypto::Ed25519PrivateKey identity;
  crypto::PeerId peer_id;
  noise::StaticNoiseKey noise_key;
  HostConfig config;
  std::shared_ptr<ResourceManager> resources;
  PeerStore peer_store;
  std::map<std::string, StreamHandler, std::less<>> handlers;
  std::vector<ConnectionHook> hooks;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<Multiaddr> listen_addrs;
  std::map<std::string, std::vector<Multiaddr>> external_addrs;
  std::vector<std::function<void()>> addr_hooks;
  CircuitDialer circuit_dialer;
  std::multimap<crypto::PeerId, std::weak_ptr<MuxedConnection>> connections;
  bool closed = false;

  awaitable<void> accept_loop(tcp::acceptor& acceptor);
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
      logger()->warn("accept failed: {}", ec.message());
      continue;
    }
    // Each inbound connection is upgraded on its own coroutine so a slow peer delays no one.
    asio::co_spawn(executor, [self, socket = std::move(socket)]() mutable -> awaitable<void> {
      boost::system::error_code ignored;
      auto remote = socket.remote_endpoint(ignored);
      try {
        co_await self->upgrade_tcp(std::move(socket), false, std::nullopt);
      } catch (const std::exception& e) {
        logger()->info("inbound connection from {} refused: {}", remote.address().to_string(), e.what());
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
  co_return co_await upgrade(std::make_unique<TcpStream>(std::move(socket)), std::move(context));
}

awaitable<std::shared_ptr<MuxedConnection>> Host::Impl::upgrade(std::unique_ptr<ByteStream> raw,
                                                                UpgradeContext context) {
  auto self = shared_from_this();
  std::string why;
  auto handshake_grant = resources->begin_handshake(why);
  if (!handshake_grant) {
    raw->reset();
    throw ErrorException(why);
  }
  ByteStream* raw_ptr = raw.get();
  Deadline deadline(executor, config.upgrade_timeout, [raw_ptr] { raw_ptr->reset(); });
  SecureChannel channel;
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
    if (deadline.expired()) throw ErrorException("connection upgrade timed out");
    throw;
  }
  deadline.cancel();
  if (context.expected && channel.remote_peer != *context.expected) {
    // Outbound, secure_outbound() checked it already; inbound, the relay named the peer to expect.
    channel.stream->reset();
    throw ErrorException("peer authenticated as " + channel.remote_peer.to_string() + ", expected " +
                         context.expected->to_string());
  }

  auto grant = resources->admit_connection(context.remote_ip, channel.remote_peer.to_string(), why);
  if (!grant) {
    channel.stream->reset();
    throw ErrorException(why);
  }
  ConnectionInfo info{channel.remote_peer,   std::move(context.local_addr), std::move(context.remote_addr),
                      context.outbound,      context.relayed,               context.data_limit,
                      context.duration_limit, Clock::now()};
  auto connection = std::make_shared<MuxedConnection>(executor, std::move(channel.stream), info, config.mux);
  register_connection(connection, std::move(grant));
  co_return connection;
}

void Host::Impl::register_connection(const std::shared_ptr<MuxedConnection>& connection, ResourceGrant grant) {
  const auto& info = connection->info();
  logger()->debug("{} connection with {} at {}", info.outbound ? "outbound" : "inbound", info.remote_peer.to_string(),
                  info.remote_addr.to_string());
  auto it = connections.emplace(info.remote_peer, connection);
  std::weak_ptr<Impl> weak_self = shared_from_this();
  auto shared_grant = std::make_shared<ResourceGrant>(std::move(grant));
  connection->on_closed([weak_self, it, shared_grant] {
    shared_grant->release();
    if (auto self = weak_self.lock()) self->connections.erase(it);
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
      handler = it->second;
      stream->set_protocol(protocol);
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!handler) {
    logger()->debug("inbound stream negotiation failed: {}", failure);
    stream->reset();
  } else {
    try {
      co_await handler(stream);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      logger()->debug("handler for {} failed: {}", stream->protocol(), failure);
      stream->reset();
    }
  }
}

std::shared_ptr<MuxedConnection> Host::Impl::find(const crypto::PeerId& peer) const {
  std::shared_ptr<MuxedConnection> relayed;
  auto [begin, end] = connections.equal_range(peer);
  for (auto it = begin; it != end; ++it) {
    auto c = it->second.lock();
    if (!c || c->is_closed()) continue;
    if (!c->info().relayed) return c;
    if (!relayed) relayed = c;
  }
  return relayed;
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
ResourceManager& Host::resources() { return *impl_->resources; }

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
    if (auto existing = impl->find(*id); existing && (addr.is_circuit() || !existing->info().relayed))
      co_return existing;
  }
  if (addr.is_circuit()) {
    if (!impl->circuit_dialer) throw ErrorException("cannot dial " + addr.to_string() + ": relay transport not enabled");
    co_return co_await impl->circuit_dialer(addr);
  }
  auto endpoints = co_await resolve_tcp(addr.without_peer_id());
  std::string errors;
  for (const auto& endpoint : endpoints) {
    try {
      tcp::socket socket(impl->executor);
      {
        auto* socket_ptr = &socket;
        Deadline deadline(impl->executor, impl->config.dial_timeout, [socket_ptr] {
          boost::system::error_code ignored;
          socket_ptr->close(ignored);
        });
        try {
          socket.open(endpoint.protocol());
          co_await socket.async_connect(endpoint, use_awaitable);
        } catch (...) {
          if (deadline.expired()) throw ErrorException("dial timed out");
          throw;
        }
      }
      tune_socket(socket);
      co_return co_await impl->upgrade_tcp(std::move(socket), true, expected);
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
  if (auto existing = impl->find(peer)) co_return existing;
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
                                                          std::vector<std::string> protocols) {
  auto stream = connection->open_stream();
  if (protocols.size() == 1) {
    // One candidate: no need to wait for the answer before writing (saves a round trip).
    stream->set_protocol(protocols.front());
    co_await select_outbound_optimistic(*stream, protocols.front());
    co_return stream;
  }
  MuxedStream* raw = stream.get();
  Deadline deadline(impl_->executor, impl_->config.negotiation_timeout, [raw] { raw->reset(); });
  try {
    auto protocol = co_await select_outbound(*stream, std::move(protocols));
    stream->set_protocol(protocol);
  } catch (...) {
    if (deadline.expired()) throw ErrorException("protocol negotiation timed out");
    throw;
  }
  co_return stream;
}

std::shared_ptr<MuxedConnection> Host::find_connection(const crypto::PeerId& peer) const { return impl_->find(peer); }

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
    raw = std::make_unique<TcpStream>(std::move(socket));
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
  for (auto& acceptor : impl_->acceptors) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
  for (auto& connection : connections()) connection->close();
}

}  // namespace stargate::p2p
