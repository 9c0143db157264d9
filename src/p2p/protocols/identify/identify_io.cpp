#include "p2p/protocols/identify/identify_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/identify/identify_message.hpp"
#include "p2p/protocols/identify/peer_record.hpp"

namespace stargate::p2p::identify {
IdentifyService::IdentifyService(Host& host) : host_(host), identified_(host.executor()) {}

std::shared_ptr<IdentifyService> IdentifyService::enable(Host& host) {
  auto service = std::make_shared<IdentifyService>(host);
  std::weak_ptr<IdentifyService> weak = service;
  host.resources().set_service(protocol_id, "identify");
  host.resources().set_service(push_protocol_id, "identify");
  host.set_handler(protocol_id, [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    auto self = weak.lock();
    if (!self) co_return;
    co_await write_length_prefixed(*stream, self->our_message(stream->connection()));
    co_await stream->close_write();
  });
  host.set_handler(push_protocol_id, [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    auto message = co_await read_length_prefixed(*stream, max_message_size);
    if (auto self = weak.lock()) self->record(stream->connection().info().remote_peer, message);
  });
  host.on_addrs_changed([weak] {
    if (auto self = weak.lock()) self->push_to_all();
  });
  host.on_connection([weak](const std::shared_ptr<MuxedConnection>& connection) {
    auto self = weak.lock();
    if (!self) return;
    asio::co_spawn(self->host_.executor(), [self, connection]() -> awaitable<void> {
      try {
        co_await self->identify(connection);
      } catch (const std::exception& e) {
        log::module<"identify">()->debug("identify of {} failed: {}", connection->info().remote_peer.to_string(), e.what());
      }
    }, asio::detached);
  });
  return service;
}

Bytes IdentifyService::our_message(const MuxedConnection& connection) const {
  IdentifyInfo info;
  info.protocol_version = host_.config().protocol_version;
  info.agent_version = host_.config().agent_version;
  info.public_key = host_.identity().public_key();
  info.listen_addrs = host_.advertised_addrs();
  // A relayed connection's remote address is the relay's circuit, nothing the peer could use.
  if (!connection.info().relayed) info.observed_addr = connection.info().remote_addr;
  info.protocols = host_.protocols();
  PeerRecord record{host_.peer_id(),
                    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count()),
                    info.listen_addrs};
  info.signed_peer_record = seal_peer_record(record, host_.identity());
  return encode(info);
}

PeerInfo IdentifyService::record(const crypto::PeerId& peer, BytesView message, std::optional<Multiaddr>* observed) {
  auto info = decode(message);
  if (!info) throw ErrorException("identify from " + peer.to_string() + ": " + info.error().message);
  if (observed) *observed = info->observed_addr;
  // The key a peer claims must be the one its PeerId (already checked by Noise) commits to.
  if (info->public_key && crypto::PeerId::from_public_key(*info->public_key) != peer)
    throw ErrorException("identify from " + peer.to_string() + ": public key does not match its peer ID");
  auto& entry = host_.peer_store().upsert(peer);
  entry.agent_version = info->agent_version;
  entry.protocol_version = info->protocol_version;
  entry.protocols = info->protocols;
  if (info->public_key) entry.public_key = info->public_key;
  if (info->observed_addr) entry.observed_addr = info->observed_addr;
  std::vector<Multiaddr> addrs = info->listen_addrs;
  if (!info->signed_peer_record.empty()) {
    // A valid signed record is authoritative over the unsigned list; a bad one is ignored.
    if (auto signed_record = open_peer_record(info->signed_peer_record);
        signed_record && signed_record->peer_id == peer && signed_record->seq >= entry.peer_record_seq) {
      entry.peer_record_seq = signed_record->seq;
      addrs = signed_record->addrs;
    }
  }
  host_.peer_store().add_addrs(peer, addrs);
  PeerInfo copy = *host_.peer_store().find(peer);
  known_[peer] = copy;
  identified_.notify_all();
  for (const auto& hook : identified_hooks_) hook(copy);
  log::module<"identify">()->debug("identified {} ({}), {} protocols", peer.to_string(), entry.agent_version, entry.protocols.size());
  return copy;
}

awaitable<PeerInfo> IdentifyService::identify(std::shared_ptr<MuxedConnection> connection) {
  auto self = shared_from_this();
  std::vector<std::string> protocols{protocol_id};
  auto stream = co_await host_.open_stream(connection, protocols);
  auto message = co_await read_length_prefixed(*stream, max_message_size);
  std::optional<Multiaddr> observed;
  auto info = record(connection->info().remote_peer, message, &observed);
  if (observed && !connection->info().relayed)
    for (const auto& hook : observed_hooks_) hook(*connection, *observed);
  co_return info;
}

awaitable<PeerInfo> IdentifyService::wait_identified(const crypto::PeerId& peer, Clock::duration timeout) {
  auto self = shared_from_this();
  Deadline deadline(host_.executor(), timeout, [self] { self->identified_.notify_all(); });
  for (;;) {
    if (auto it = known_.find(peer); it != known_.end()) co_return it->second;
    if (deadline.expired()) throw ErrorException("identify of " + peer.to_string() + " timed out");
    co_await identified_.wait();
  }
}

void IdentifyService::push_to_all() {
  auto self = shared_from_this();
  for (auto& connection : host_.connections()) {
    asio::co_spawn(host_.executor(), [self, connection]() -> awaitable<void> {
      try {
        std::vector<std::string> protocols{push_protocol_id};
        auto stream = co_await self->host_.open_stream(connection, protocols);
        co_await write_length_prefixed(*stream, self->our_message(*connection));
        co_await stream->close_write();
      } catch (const std::exception& e) {
        log::module<"identify">()->debug("identify push failed: {}", e.what());
      }
    }, asio::detached);
  }
}

}  // namespace stargate::p2p::identify
