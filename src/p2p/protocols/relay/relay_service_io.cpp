#include "p2p/protocols/relay/relay_service_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/protocols/relay/messages_io.hpp"
#include "p2p/tcp/tcp_address.hpp"

namespace stargate::p2p::relay {
namespace {

// A circuit moves this much per read: large enough for throughput, small enough that the byte
// limit is enforced close to the byte.
constexpr std::size_t kSpliceChunk = kCircuitBufferBytes / 2;  // one buffer per direction

std::string remote_ip(const ConnectionInfo& info) {
  auto endpoint = to_tcp_endpoint(info.remote_addr);
  return endpoint ? endpoint->address().to_string() : std::string();
}

}  // namespace

RelayService::RelayService(Host& host, RelayServiceOptions options)
    : host_(host),
      options_(std::move(options)),
      state_(host.identity().clone(), host.advertised_addrs(), options_.limits),
      expiry_timer_(host.executor()) {
  state_.set_allowlist(options_.allowlist);
}

std::shared_ptr<RelayService> RelayService::enable(Host& host, RelayServiceOptions options) {
  auto service = std::make_shared<RelayService>(host, std::move(options));
  std::weak_ptr<RelayService> weak = service;
  // Both halves of a circuit count against the relay service: the hop stream from the source
  // and the stop stream to the destination.
  host.resources().set_service(std::string(kHopProtocol), "relay");
  host.resources().set_service(std::string(kStopProtocol), "relay");
  host.set_handler(std::string(kHopProtocol), [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    if (auto self = weak.lock()) co_await self->serve(std::move(stream));
  });
  host.on_addrs_changed([weak] {
    if (auto self = weak.lock()) self->state_.set_addrs(self->host_.advertised_addrs());
  });
  return service;
}

awaitable<void> RelayService::serve(std::shared_ptr<MuxedStream> stream) {
  auto self = shared_from_this();
  if (closed_) {
    stream->reset();
    co_return;
  }
  MuxedStream* raw = stream.get();
  std::optional<HopMessage> request;
  std::optional<RefusalReason> refusal;
  {
    Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
    try {
      request = co_await read_hop(*stream);
    } catch (const MalformedMessage& e) {
      log::module<"relay">()->debug("malformed hop message from {}: {}", raw->connection().info().remote_peer.to_string(), e.what());
      refusal = RefusalReason::malformed_message;
    }
  }
  if (!refusal && request->type == HopMessage::Type::status) refusal = RefusalReason::unexpected_message;
  if (refusal) {
    state_.count_refusal(*refusal);
    auto answer = hop_status(status_for(*refusal));
    co_await write_message(*stream, answer);
    co_await stream->close_write();
    co_return;
  }
  if (request->type == HopMessage::Type::reserve) {
    co_await reserve(*stream);
  } else {
    co_await connect(std::move(stream), *request);
  }
}

awaitable<void> RelayService::reserve(MuxedStream& stream) {
  auto connection = stream.connection().shared_from_this();
  const auto& info = connection->info();
  Decision<ReservationGrant> decision = Refusal{Status::permission_denied, RefusalReason::permission_denied};
  if (info.relayed) {
    state_.count_refusal(RefusalReason::permission_denied);  // no reservations over a relay
  } else {
    decision = state_.reserve(info.remote_peer, remote_ip(info), std::chrono::system_clock::now());
  }
  HopMessage answer;
  if (decision) {
    answer = decision->response();
    watch(connection);
    schedule_expiry();
    log::module<"relay">()->debug("reservation for {} until {}", info.remote_peer.to_string(), decision->expire_unix);
  } else {
    answer = hop_status(decision.error().status);
    log::module<"relay">()->debug("reservation for {} refused: {}", info.remote_peer.to_string(), to_string(decision.error().reason));
  }
  co_await write_message(stream, answer);
  co_await stream.close_write();
}

awaitable<void> RelayService::connect(std::shared_ptr<MuxedStream> source_stream, const HopMessage& request) {
  auto source_connection = source_stream->connection().shared_from_this();
  const auto source = source_connection->info().remote_peer;
  const auto destination = request.peer->id;
  Decision<CircuitGrant> decision = Refusal{Status::permission_denied, RefusalReason::permission_denied};
  if (source_connection->info().relayed) {
    state_.count_refusal(RefusalReason::permission_denied);  // no relay chains
  } else {
    decision = state_.open_circuit(source, destination, std::chrono::system_clock::now());
  }
  if (!decision) {
    auto answer = hop_status(decision.error().status);
    co_await write_message(*source_stream, answer);
    co_await source_stream->close_write();
    co_return;
  }
  const CircuitGrant grant = *decision;
  // The splice's two buffers, reserved in the relay service's scope before the circuit opens.
  std::string why;
  auto memory = std::make_shared<MemoryGrant>(source_stream->resources().reserve_memory(kCircuitBufferBytes, why));
  if (!*memory && !why.empty()) {
    log::module<"relay">()->debug("circuit {} -> {} refused: {}", source.to_string(), destination.to_string(), why);
    co_await refuse_granted(*source_stream, grant.id, RefusalReason::node_resources);
    co_return;
  }
  std::shared_ptr<MuxedStream> destination_stream;
  std::string failure;
  try {
    destination_stream = co_await open_stop(destination, source, grant);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!destination_stream) {
    log::module<"relay">()->debug("circuit {} -> {} failed: {}", source.to_string(), destination.to_string(), failure);
    co_await refuse_granted(*source_stream, grant.id, RefusalReason::connection_failed);
    co_return;
  }
  HopMessage answer = hop_status(Status::ok);
  answer.limit = grant.limit;
  try {
    co_await write_message(*source_stream, answer);
  } catch (...) {
    destination_stream->reset();
    state_.close_circuit(grant.id);
    throw;
  }
  log::module<"relay">()->debug("circuit {} -> {} open", source.to_string(), destination.to_string());
  splice(grant.id, std::move(source_stream), std::move(destination_stream), std::move(memory));
  schedule_expiry();
}

awaitable<void> RelayService::refuse_granted(MuxedStream& source, CircuitId id, RefusalReason reason) {
  state_.close_circuit(id);
  state_.count_refusal(reason);
  auto answer = hop_status(status_for(reason));
  co_await write_message(source, answer);
  co_await source.close_write();
}

awaitable<std::shared_ptr<MuxedStream>> RelayService::open_stop(const crypto::PeerId& destination,
                                                                const crypto::PeerId& source,
                                                                const CircuitGrant& grant) {
  // Only a connection the destination made to us will do (it holds the reservation); the relay
  // never dials a destination.
  auto connection = host_.find_connection(destination);
  if (!connection || connection->info().relayed) throw ErrorException("destination is not connected");
  std::vector<std::string> protocols{std::string(kStopProtocol)};
  auto stream = co_await host_.open_stream(connection, protocols);
  MuxedStream* raw = stream.get();
  Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
  auto request = stop_connect(PeerInfo{source, {}}, grant.limit);
  co_await write_message(*stream, request);
  auto answer = co_await read_stop(*stream);
  if (answer.type != StopMessage::Type::status) throw ErrorException("destination sent an unexpected stop message");
  if (answer.status != Status::ok) {
    throw ErrorException("destination answered " + std::string(to_string(answer.status.value_or(Status::malformed_message))));
  }
  co_return stream;
}

void RelayService::splice(CircuitId id, std::shared_ptr<MuxedStream> source, std::shared_ptr<MuxedStream> destination,
                          std::shared_ptr<MemoryGrant> memory) {
  active_[id] = ActiveCircuit{source, destination};
  // The circuit ends when both directions have ended (each pump resets both streams on failure).
  auto remaining = std::make_shared<int>(2);
  std::weak_ptr<RelayService> weak = shared_from_this();
  auto done = [weak, id, remaining, memory](std::exception_ptr) {
    if (--*remaining > 0) return;
    memory->release();
    if (auto self = weak.lock()) self->end_circuit(id);
  };
  asio::co_spawn(host_.executor(), pump(id, Direction::source_to_destination, source, destination), done);
  asio::co_spawn(host_.executor(), pump(id, Direction::destination_to_source, destination, source), done);
}

awaitable<void> RelayService::pump(CircuitId id, Direction direction, std::shared_ptr<MuxedStream> from,
                                   std::shared_ptr<MuxedStream> to) {
  auto self = shared_from_this();
  Bytes buffer(kSpliceChunk);
  bool failed = false;
  try {
    for (;;) {
      std::size_t n = co_await from->read_some(buffer);
      if (n == 0) {
        co_await to->close_write();
        break;
      }
      std::uint64_t allowance = state_.allowance(id, direction);
      if (n > allowance) {
        // Over the byte limit (or the circuit was ended): deliver what was allowed, then end the
        // circuit on both sides, as the spec says a relay does.
        if (allowance > 0) {
          co_await to->write_all(BytesView(buffer.data(), static_cast<std::size_t>(allowance)));
          state_.add_relayed(id, direction, allowance);
        }
        log::module<"relay">()->debug("circuit {} reached its data limit", id);
        failed = true;
        break;
      }
      co_await to->write_all(BytesView(buffer.data(), n));
      state_.add_relayed(id, direction, n);
    }
  } catch (const std::exception&) {
    failed = true;
  }
  if (failed) {
    from->reset();
    to->reset();
  }
}

void RelayService::close() {
  closed_ = true;
  expiry_timer_.cancel();
  for (auto& [id, circuit] : active_) {
    if (auto s = circuit.source.lock()) s->reset();
    if (auto d = circuit.destination.lock()) d->reset();
  }
}

void RelayService::end_circuit(CircuitId id) {
  if (auto it = active_.find(id); it != active_.end()) {
    if (auto s = it->second.source.lock()) s->close();
    if (auto d = it->second.destination.lock()) d->close();
    active_.erase(it);
  }
  state_.close_circuit(id);
}

void RelayService::watch(std::shared_ptr<MuxedConnection> connection) {
  if (!watched_.insert(connection.get()).second) return;
  std::weak_ptr<RelayService> weak = shared_from_this();
  asio::co_spawn(host_.executor(), [weak, connection]() -> awaitable<void> {
    co_await connection->wait_closed();
    auto self = weak.lock();
    if (!self) co_return;
    self->watched_.erase(connection.get());
    const auto& peer = connection->info().remote_peer;
    auto other = self->host_.find_connection(peer);
    if (!other || other->info().relayed) self->state_.drop_reservations(peer);
  }, asio::detached);
}

void RelayService::schedule_expiry() {
  auto next = state_.next_deadline();
  if (!next || closed_) return;
  auto wait = *next - std::chrono::system_clock::now();
  expiry_timer_.expires_after(std::max(std::chrono::duration_cast<Clock::duration>(wait), Clock::duration::zero()));
  std::weak_ptr<RelayService> weak = shared_from_this();
  expiry_timer_.async_wait([weak](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    for (CircuitId id : self->state_.expire(std::chrono::system_clock::now())) {
      log::module<"relay">()->debug("circuit {} reached its duration limit", id);
      if (auto it = self->active_.find(id); it != self->active_.end()) {
        if (auto s = it->second.source.lock()) s->reset();
        if (auto d = it->second.destination.lock()) d->reset();
      }
    }
    self->schedule_expiry();
  });
}

}  // namespace stargate::p2p::relay
