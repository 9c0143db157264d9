#include "p2p/protocols/gossipsub/gossipsub_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "crypto/random.hpp"
#include "p2p/host/length_prefixed.hpp"

#include <algorithm>

namespace stargate::p2p::gossipsub {
namespace {

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  crypto::random_bytes(MutableBytesView(reinterpret_cast<std::uint8_t*>(&value), sizeof value));
  return value;
}

const std::vector<std::string>& protocol_ids() {
  static const std::vector<std::string> ids{std::string(kMeshsubV11), std::string(kMeshsubV10),
                                            std::string(kFloodsub)};
  return ids;
}

}  // namespace

GossipsubService::GossipsubService(Host& host, GossipsubOptions options)
    : host_(host),
      options_(std::move(options)),
      router_(host.identity().clone(), options_.router, random_u64(), random_u64()),
      timer_(host.executor()),
      written_(host.executor()) {}

GossipsubService::~GossipsubService() { close(); }

std::shared_ptr<GossipsubService> GossipsubService::enable(Host& host, GossipsubOptions options) {
  auto service = std::make_shared<GossipsubService>(host, std::move(options));
  std::weak_ptr<GossipsubService> weak = service;
  for (const auto& protocol : protocol_ids()) {
    host.resources().set_service(protocol, "gossipsub");
    host.set_handler(protocol, [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
      if (auto self = weak.lock()) co_await self->serve_inbound(std::move(stream));
    });
  }
  host.on_connection([weak](const std::shared_ptr<MuxedConnection>& connection) {
    if (auto self = weak.lock()) self->connected(connection);
  });
  for (const auto& connection : host.connections()) service->connected(connection);
  asio::co_spawn(host.executor(), service->heartbeat_loop(), asio::detached);
  return service;
}

void GossipsubService::close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  for (auto& [peer, link] : links_) {
    link->closed = true;
    if (link->out) link->out->reset();
    link->wake.notify_all();
  }
  links_.clear();
}

ServiceStats GossipsubService::stats() const {
  ServiceStats out = stats_;
  out.router = router_.stats();
  return out;
}

void GossipsubService::subscribe(const std::string& topic, MessageHandler handler) {
  handlers_[topic] = std::move(handler);
  router_.subscribe(topic, Clock::now());
  flush();
}

void GossipsubService::unsubscribe(const std::string& topic) {
  handlers_.erase(topic);
  router_.unsubscribe(topic, Clock::now());
  flush();
}

Result<MessageId> GossipsubService::publish(const std::string& topic, Bytes data) {
  auto id = router_.publish(topic, std::move(data), Clock::now());
  flush();
  return id;
}

void GossipsubService::connected(const std::shared_ptr<MuxedConnection>& connection) {
  if (closed_) return;
  const auto peer = connection->info().remote_peer;
  auto& link = links_[peer];
  if (!link) link = std::make_shared<Link>(host_.executor());
  if (link->out || link->opening) return;
  link->opening = true;
  asio::co_spawn(host_.executor(), open_outbound(connection), asio::detached);
}

awaitable<void> GossipsubService::open_outbound(std::shared_ptr<MuxedConnection> connection) {
  auto self = shared_from_this();
  const auto peer = connection->info().remote_peer;
  const bool outbound = connection->info().outbound;
  std::shared_ptr<MuxedStream> stream;
  try {
    stream = co_await host_.open_stream(connection, protocol_ids());
  } catch (const std::exception& e) {
    log::module<"gossipsub">()->debug("no pubsub stream to {}: {}", peer.to_string(), e.what());
  }
  auto it = links_.find(peer);
  if (it == links_.end() || closed_) {
    if (stream) stream->reset();
    co_return;
  }
  auto link = it->second;
  link->opening = false;
  auto kind = stream ? peer_kind(stream->protocol()) : std::nullopt;
  if (!kind) {
    if (stream) stream->reset();
    if (!link->inbound_open) {
      links_.erase(it);
      router_.remove_peer(peer);
    }
    co_return;
  }
  stream->set_background();  // open as long as the connection: it must not keep it from idling out
  link->out = stream;
  router_.add_peer(peer, *kind, outbound, Clock::now());
  flush();
  // The writer sleeps on the link's signal while it has nothing to send; when the connection goes
  // (the peer vanished without a word on its own stream), this wakes it so that it ends.
  asio::co_spawn(host_.executor(), [connection, weak_link = std::weak_ptr<Link>(link)]() -> awaitable<void> {
    co_await connection->wait_closed();
    if (auto l = weak_link.lock()) l->wake.notify_all();
  }, asio::detached);
  co_await write_loop(peer, link);
}

awaitable<void> GossipsubService::write_loop(crypto::PeerId peer, std::shared_ptr<Link> link) {
  auto self = shared_from_this();
  try {
    while (!link->closed && !link->out->connection().is_closed()) {
      if (link->queue.empty()) {
        co_await link->wake.wait();
        continue;
      }
      Bytes body = std::move(link->queue.front());
      link->queue.pop_front();
      co_await write_length_prefixed(*link->out, body);
      written_.notify_all();
    }
  } catch (const std::exception& e) {
    log::module<"gossipsub">()->debug("pubsub stream to {} failed: {}", peer.to_string(), e.what());
  }
  drop(peer, link, true);
}

awaitable<bool> GossipsubService::drain(Clock::duration timeout) {
  auto self = shared_from_this();
  Deadline deadline(host_.executor(), timeout, [self] { self->written_.notify_all(); });
  auto pending = [&] {
    return std::any_of(links_.begin(), links_.end(),
                       [](const auto& kv) { return !kv.second->closed && !kv.second->queue.empty(); });
  };
  while (pending()) {
    if (deadline.expired()) co_return false;
    co_await written_.wait();
  }
  co_return true;
}

void GossipsubService::drop(const crypto::PeerId& peer, const std::shared_ptr<Link>& link, bool reopen) {
  written_.notify_all();
  link->closed = true;
  link->queue.clear();
  // The writer may be parked waiting for work: woken, it sees `closed` and ends, letting go of
  // the link, its stream (and so the connection) and the stream's grants.
  link->wake.notify_all();
  if (link->out) link->out->reset();
  auto it = links_.find(peer);
  if (it == links_.end() || it->second != link) return;
  links_.erase(it);
  router_.remove_peer(peer);
  // Our stream failed while the peer's connection may live on (another connection, or a stream
  // refused): try again on a connection that is still open.
  if (reopen && !closed_) {
    if (auto connection = host_.find_connection(peer); connection && !connection->is_closing()) connected(connection);
  }
}

awaitable<void> GossipsubService::serve_inbound(std::shared_ptr<MuxedStream> stream) {
  auto self = shared_from_this();
  stream->set_background();
  auto connection = stream->connection().shared_from_this();
  const auto peer = connection->info().remote_peer;
  connected(connection);  // our side of the exchange, if not yet open
  auto it = links_.find(peer);
  if (it == links_.end() || it->second->inbound_open) {
    ++stats_.streams_refused;
    stream->reset();
    co_return;
  }
  auto link = it->second;
  link->inbound_open = true;
  // Its RPCs count from the first one, even while our own stream to it is still being opened.
  if (auto kind = peer_kind(stream->protocol()))
    router_.add_peer(peer, *kind, connection->info().outbound, Clock::now());
  const std::size_t max_size = options_.router.limits.max_rpc_size;
  try {
    while (!closed_ && !link->closed) {
      auto body = co_await read_length_prefixed_or_eof(*stream, max_size);
      if (!body) break;
      auto rpc = decode(*body, options_.router.limits);
      if (!rpc) {
        ++stats_.decode_errors;
        log::module<"gossipsub">()->debug("malformed RPC from {}: {}", peer.to_string(), rpc.error().message);
        break;
      }
      router_.handle_rpc(peer, std::move(*rpc), Clock::now());
      flush();
    }
  } catch (const std::exception& e) {
    ++stats_.decode_errors;
    log::module<"gossipsub">()->debug("pubsub stream from {} ended: {}", peer.to_string(), e.what());
  }
  link->inbound_open = false;
  stream->reset();
  // The peer's stream ended (end of stream when it leaves cleanly, which arrives before its
  // connection is marked closed; a reset when it vanishes; a malformed RPC): the peer is gone
  // from pubsub, and our stream to it goes too. If it comes back, its new stream makes a new link.
  drop(peer, link, false);
}

void GossipsubService::flush() {
  // A handler may publish, which flushes again: the outer call picks that work up.
  if (flushing_) return;
  flushing_ = true;
  for (;;) {
    auto outbound = router_.take_outbound();
    auto deliveries = router_.take_deliveries();
    if (outbound.empty() && deliveries.empty()) break;
    for (auto& [peer, rpc] : outbound) {
      auto it = links_.find(peer);
      // Queued even while the stream opens: the writer starts with what piled up (bounded).
      if (it == links_.end()) continue;
      auto& link = *it->second;
      if (link.queue.size() >= options_.max_queued_rpcs) {
        ++stats_.rpcs_dropped;
        continue;
      }
      link.queue.push_back(encode(rpc));
      link.wake.notify_all();
    }
    for (auto& delivery : deliveries) {
      auto handler = handlers_.find(delivery.message.topic);
      if (handler == handlers_.end()) continue;
      // A copy: the handler may subscribe or unsubscribe, replacing the one in the table.
      auto call = handler->second;
      call(delivery.message);
    }
  }
  flushing_ = false;
}

awaitable<void> GossipsubService::heartbeat_loop() {
  auto weak = weak_from_this();
  const auto interval = options_.router.heartbeat_interval;
  for (;;) {
    {
      auto self = weak.lock();
      if (!self || closed_) co_return;
      timer_.expires_after(interval);
    }
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    auto self = weak.lock();
    if (!self || closed_) co_return;
    router_.heartbeat(Clock::now());
    flush();
    // Peer exchange: dial a few of the peers a PRUNE suggested, when the peer store knows them.
    std::size_t dials = 0;
    for (const auto& candidate : router_.take_px_candidates()) {
      if (dials++ >= options_.max_dials_per_heartbeat) break;
      asio::co_spawn(host_.executor(), [self, candidate]() -> awaitable<void> {
        try {
          co_await self->host_.connect(candidate);
        } catch (const std::exception&) {
          // A hint only: an unknown or unreachable peer is not an error.
        }
      }, asio::detached);
    }
  }
}

}  // namespace stargate::p2p::gossipsub
