#include "p2p/protocols/relay/relay_client_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/host/stream_ref.hpp"
#include "p2p/protocols/relay/messages_io.hpp"
#include "p2p/protocols/relay/voucher.hpp"

#include <algorithm>

namespace stargate::p2p::relay {
namespace {

using SystemClock = std::chrono::system_clock;

std::optional<std::chrono::seconds> duration_of(const std::optional<Limit>& limit) {
  if (!limit || !limit->duration_s) return std::nullopt;
  return std::chrono::seconds(*limit->duration_s);
}

std::optional<std::uint64_t> data_of(const std::optional<Limit>& limit) {
  return limit ? limit->data_bytes : std::nullopt;
}

const Multiaddr& circuit_component() {
  static const Multiaddr c = Multiaddr::from_component(Protocol::p2p_circuit, {}).value();
  return c;
}

Multiaddr with_peer(const Multiaddr& addr, const crypto::PeerId& peer) {
  return addr.encapsulate(Multiaddr::from_component(Protocol::p2p, peer.bytes()).value());
}

// The host's pool never closes a connection to a relay we keep a reservation on.
constexpr const char* kPinTag = "relay-reservation";

}  // namespace

RelayClient::RelayClient(Host& host, RelayClientOptions options)
    : host_(host), options_(options), changed_(host.executor()) {}

RelayClient::~RelayClient() {
  destroying_ = true;  // the host may be gone already (a coroutine kept us alive): leave it alone
  close();
}

std::shared_ptr<RelayClient> RelayClient::enable(Host& host, RelayClientOptions options) {
  auto client = std::make_shared<RelayClient>(host, options);
  std::weak_ptr<RelayClient> weak = client;
  host.resources().set_service(std::string(kStopProtocol), "relay-client");
  host.resources().set_service(std::string(kHopProtocol), "relay-client");
  host.set_handler(std::string(kStopProtocol), [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    if (auto self = weak.lock()) co_await self->accept_circuit(std::move(stream));
  });
  host.set_circuit_dialer([weak](Multiaddr addr) -> awaitable<std::shared_ptr<MuxedConnection>> {
    auto self = weak.lock();
    if (!self) throw ErrorException("relay client is gone");
    co_return co_await self->dial(addr);
  });
  return client;
}

void RelayClient::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [relay, entry] : relays_) entry.wake->cancel();
  if (!destroying_)
    for (const auto& [relay, entry] : relays_) host_.unprotect(relay, kPinTag);
  changed_.notify_all();
}

void RelayClient::add_relay(const Multiaddr& relay_addr) {
  auto id_bytes = relay_addr.peer_id_bytes();
  if (!id_bytes) throw ErrorException("relay address needs /p2p/<relay id>: " + relay_addr.to_string());
  auto relay = crypto::PeerId::from_bytes(*id_bytes);
  if (!relay) throw ErrorException("bad relay peer ID in " + relay_addr.to_string());
  if (*relay == host_.peer_id()) throw ErrorException("a node cannot reserve on itself");
  if (closed_ || relays_.contains(*relay)) return;
  Entry entry;
  entry.info.relay = *relay;
  entry.info.relay_addr = relay_addr;
  entry.wake = std::make_shared<asio::steady_timer>(host_.executor());
  entry.generation = ++next_generation_;
  const auto generation = entry.generation;
  relays_.emplace(*relay, std::move(entry));
  order_.push_back(*relay);
  host_.protect(*relay, kPinTag);
  asio::co_spawn(host_.executor(), keep_reserved(*relay, generation), asio::detached);
}

void RelayClient::drop_relay(const crypto::PeerId& relay) {
  auto it = relays_.find(relay);
  if (it == relays_.end()) return;
  it->second.wake->cancel();  // its keeper wakes, finds the entry gone (or newer) and ends
  relays_.erase(it);
  std::erase(order_, relay);
  if (!destroying_) host_.unprotect(relay, kPinTag);
  publish_addrs();
}

void RelayClient::set_order(const std::vector<crypto::PeerId>& preference) {
  auto rank = [&](const crypto::PeerId& relay) {
    return static_cast<std::size_t>(std::find(preference.begin(), preference.end(), relay) - preference.begin());
  };
  std::stable_sort(order_.begin(), order_.end(), [&](const auto& x, const auto& y) { return rank(x) < rank(y); });
  publish_addrs();
}

void RelayClient::retry_now(const crypto::PeerId& relay) {
  auto it = relays_.find(relay);
  if (it != relays_.end() && !it->second.info.active) it->second.wake->cancel();
}

RelayClient::Entry* RelayClient::keeper_entry(const crypto::PeerId& relay, std::uint64_t generation) {
  if (closed_) return nullptr;
  auto it = relays_.find(relay);
  return it == relays_.end() || it->second.generation != generation ? nullptr : &it->second;
}

void RelayClient::mark_lost(Entry& entry, std::string why) {
  const bool was_active = entry.info.active;
  entry.info.active = false;
  entry.info.circuit_addrs.clear();
  entry.info.last_error = std::move(why);
  if (was_active && lost_hook_) lost_hook_(entry.info.relay);
}

awaitable<void> RelayClient::keep_reserved(crypto::PeerId relay, std::uint64_t generation) {
  std::weak_ptr<RelayClient> weak = shared_from_this();
  auto backoff = options_.retry_initial;
  const MuxedConnection* watched = nullptr;
  for (;;) {
    Clock::duration wait;
    std::shared_ptr<asio::steady_timer> timer;
    {
      auto self = weak.lock();
      if (!self || !self->keeper_entry(relay, generation)) co_return;
      timer = self->keeper_entry(relay, generation)->wake;
      const auto relay_addr = self->keeper_entry(relay, generation)->info.relay_addr;
      std::string failure;
      std::optional<ReservationInfo> granted;
      std::shared_ptr<MuxedConnection> connection;
      try {
        connection = co_await self->host_.connect(relay_addr);
        granted = co_await self->reserve_on(connection, relay_addr);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      // The relay may have been dropped while we waited on it.
      auto* entry = self->keeper_entry(relay, generation);
      if (!entry) co_return;
      if (granted) {
        entry->info = std::move(*granted);
        ++self->counters_.reservations_made;
        backoff = options_.retry_initial;
        // Renew when three quarters of the reservation's time have passed.
        auto left = entry->info.expiry - SystemClock::now();
        wait = std::max<Clock::duration>(std::chrono::duration_cast<Clock::duration>(left * 3 / 4), std::chrono::seconds(1));
        if (connection.get() != watched) {
          watched = connection.get();
          // A relay connection that closes ends the reservation: wake up to make it again.
          asio::co_spawn(self->host_.executor(), [connection, timer]() -> awaitable<void> {
            co_await connection->wait_closed();
            timer->cancel();
          }, asio::detached);
        }
      } else {
        log::module<"relay">()->info("reservation on relay {} failed: {}", relay.to_string(), failure);
        ++self->counters_.reservations_failed;
        self->mark_lost(*entry, failure);
        wait = backoff;
        backoff = std::min(backoff * 2, options_.retry_max);
        watched = nullptr;
      }
      self->publish_addrs();
    }
    boost::system::error_code ec;
    timer->expires_after(wait);
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    auto self = weak.lock();
    if (!self) co_return;
    auto* entry = self->keeper_entry(relay, generation);
    if (!entry) co_return;
    if (auto c = self->host_.find_connection(relay); !c || c->info().relayed) {
      // Woken by the connection closing: the reservation is gone with it.
      self->mark_lost(*entry, "connection to the relay closed");
      watched = nullptr;
      self->publish_addrs();
    }
  }
}

awaitable<ReservationInfo> RelayClient::reserve(const Multiaddr& relay_addr) {
  auto self = shared_from_this();
  auto connection = co_await host_.connect(relay_addr);
  auto info = co_await reserve_on(connection, relay_addr);
  // Recorded like a kept reservation (so circuits from this relay are accepted), but not renewed.
  auto [it, inserted] = relays_.try_emplace(info.relay);
  if (inserted) {
    it->second.wake = std::make_shared<asio::steady_timer>(host_.executor());
    order_.push_back(info.relay);
  }
  it->second.info = info;
  ++counters_.reservations_made;
  publish_addrs();
  co_return info;
}

awaitable<ReservationInfo> RelayClient::reserve_on(std::shared_ptr<MuxedConnection> connection,
                                                   const Multiaddr& relay_addr) {
  const auto relay = connection->info().remote_peer;
  if (connection->info().relayed) throw ErrorException("will not reserve on a relay over a relayed connection");
  std::vector<std::string> protocols{std::string(kHopProtocol)};
  auto stream = co_await host_.open_stream(connection, protocols);
  MuxedStream* raw = stream.get();
  Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
  auto request = hop_reserve();
  co_await write_message(*stream, request);
  auto answer = co_await read_hop(*stream);
  deadline.cancel();
  stream->close();
  if (answer.type != HopMessage::Type::status) throw ErrorException("relay sent an unexpected hop message");
  if (answer.status != Status::ok)
    throw ErrorException("relay refused the reservation: " + std::string(to_string(*answer.status)));
  if (!answer.reservation) throw ErrorException("relay answered OK without a reservation");
  const auto& reservation = *answer.reservation;
  auto expiry = SystemClock::time_point(std::chrono::seconds(reservation.expire));
  if (expiry <= SystemClock::now()) throw ErrorException("relay granted a reservation that has already expired");
  if (!reservation.voucher.empty()) {
    // Advisory in the spec, but a voucher that is there must be right: signed by this relay, for us.
    auto voucher = open_voucher(reservation.voucher);
    if (!voucher) throw ErrorException("relay sent a bad voucher: " + voucher.error().message);
    if (voucher->relay != relay || voucher->peer != host_.peer_id() || voucher->expiration != reservation.expire)
      throw ErrorException("relay sent a voucher for another relay, peer or expiry");
  }
  ReservationInfo info;
  info.relay = relay;
  info.relay_addr = relay_addr.peer_id_bytes() ? relay_addr : with_peer(relay_addr, relay);
  info.active = true;
  info.expiry = expiry;
  info.circuit_addrs = circuit_listen_addrs(info.relay_addr, reservation.addrs, relay);
  info.limit = answer.limit;
  co_return info;
}

awaitable<void> RelayClient::wait_reserved(std::size_t count, Clock::duration timeout) {
  auto self = shared_from_this();
  bool expired = false;
  Deadline deadline(host_.executor(), timeout, [&expired, this] {
    expired = true;
    changed_.notify_all();
  });
  auto active = [this] {
    return static_cast<std::size_t>(
        std::count_if(relays_.begin(), relays_.end(), [](const auto& kv) { return kv.second.info.active; }));
  };
  while (active() < count) {
    if (expired) throw ErrorException("no reservation on " + std::to_string(count) + " relay(s) in time");
    if (closed_) throw ErrorException("relay client closed");
    co_await changed_.wait();
  }
}

bool RelayClient::holds_reservation_with(const crypto::PeerId& relay) const {
  auto it = relays_.find(relay);
  return it != relays_.end() && it->second.info.active;
}

awaitable<void> RelayClient::accept_circuit(std::shared_ptr<MuxedStream> stream) {
  auto self = shared_from_this();
  const auto& relay_info = stream->connection().info();
  const auto relay = relay_info.remote_peer;
  MuxedStream* raw = stream.get();
  std::optional<StopMessage> request;
  std::optional<Status> refusal;
  {
    Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
    try {
      request = co_await read_stop(*stream);
    } catch (const MalformedMessage& e) {
      log::module<"relay">()->debug("malformed stop message from {}: {}", relay.to_string(), e.what());
      refusal = Status::malformed_message;
    }
  }
  if (!refusal && request->type != StopMessage::Type::connect) refusal = Status::unexpected_message;
  if (!refusal && (relay_info.relayed || !holds_reservation_with(relay))) refusal = Status::permission_denied;
  if (refusal) {
    ++counters_.circuits_refused;
    log::module<"relay">()->debug("circuit from relay {} refused: {}", relay.to_string(), to_string(*refusal));
    auto answer = stop_status(*refusal);
    co_await write_message(*stream, answer);
    co_await stream->close_write();
    co_return;
  }
  const auto source = request->peer->id;
  auto answer = stop_status(Status::ok);
  co_await write_message(*stream, answer);

  UpgradeContext context;
  context.outbound = false;
  context.expected = source;  // the relay vouches for who is on the other end; Noise proves it
  auto relay_part = with_peer(relay_info.remote_addr, relay).encapsulate(circuit_component());
  context.local_addr = relay_part;
  context.remote_addr = with_peer(relay_part, source);
  context.relayed = true;
  context.data_limit = data_of(request->limit);
  context.duration_limit = duration_of(request->limit);
  std::string failure;
  try {
    co_await host_.upgrade(std::make_unique<StreamRef>(stream), std::move(context));
    ++counters_.circuits_accepted;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    ++counters_.circuits_refused;
    log::module<"relay">()->debug("relayed connection from {} failed: {}", source.to_string(), failure);
  }
}

awaitable<std::shared_ptr<MuxedConnection>> RelayClient::dial(const Multiaddr& circuit_addr) {
  auto self = shared_from_this();
  auto parsed = parse_circuit_address(circuit_addr);
  if (!parsed) throw ErrorException(parsed.error().message);
  if (!parsed->destination) throw ErrorException("circuit address names no destination: " + circuit_addr.to_string());
  const auto destination = *parsed->destination;
  std::string failure;
  std::shared_ptr<MuxedConnection> connection;
  try {
    auto relay_connection = co_await host_.connect(parsed->relay_addr);
    if (relay_connection->info().relayed) throw ErrorException("no direct connection to the relay");
    std::vector<std::string> protocols{std::string(kHopProtocol)};
    auto stream = co_await host_.open_stream(relay_connection, protocols);
    HopMessage answer;
    {
      MuxedStream* raw = stream.get();
      Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
      auto request = hop_connect(PeerInfo{destination, {}});
      co_await write_message(*stream, request);
      answer = co_await read_hop(*stream);
    }
    if (answer.type != HopMessage::Type::status) throw ErrorException("relay sent an unexpected hop message");
    if (answer.status != Status::ok)
      throw ErrorException("relay " + parsed->relay.to_string() + " refused the circuit: " +
                           std::string(to_string(*answer.status)));
    UpgradeContext context;
    context.outbound = true;
    context.expected = destination;
    context.local_addr = parsed->relay_addr.encapsulate(circuit_component());
    context.remote_addr = circuit_addr;
    context.relayed = true;
    context.data_limit = data_of(answer.limit);
    context.duration_limit = duration_of(answer.limit);
    connection = co_await host_.upgrade(std::make_unique<StreamRef>(stream), std::move(context));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!connection) {
    ++counters_.circuit_dials_failed;
    throw ErrorException("cannot connect to " + circuit_addr.to_string() + ": " + failure);
  }
  ++counters_.circuits_dialed;
  co_return connection;
}

std::vector<ReservationInfo> RelayClient::reservations() const {
  std::vector<ReservationInfo> out;
  for (const auto& relay : order_) out.push_back(relays_.at(relay).info);
  return out;
}

std::vector<Multiaddr> RelayClient::circuit_addrs() const {
  std::vector<Multiaddr> out;
  for (const auto& relay : order_) {
    const auto& entry = relays_.at(relay);
    if (!entry.info.active) continue;
    out.insert(out.end(), entry.info.circuit_addrs.begin(), entry.info.circuit_addrs.end());
  }
  return out;
}

void RelayClient::publish_addrs() {
  host_.set_external_addrs("relay", circuit_addrs());
  changed_.notify_all();
}

}  // namespace stargate::p2p::relay
