#include "p2p/protocols/dcutr/dcutr_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/dcutr/messages.hpp"
#include "p2p/tcp/tcp_address.hpp"

namespace stargate::p2p::dcutr {
namespace {

// How long a relayed connection that was upgraded may keep serving streams that were already on
// it before it is closed anyway (its relay would end it soon in any case).
constexpr auto kRetireGrace = std::chrono::minutes(2);

struct AttemptFailed : ErrorException {
  AttemptFailed(std::string reason_, const std::string& detail) : ErrorException(detail), reason(std::move(reason_)) {}
  std::string reason;  // a metrics label: no_addresses, protocol_refused, exchange_failed, ...
};

awaitable<HolePunch> read_message(ByteStream& stream, HolePunch::Type expected) {
  Bytes body;
  std::string failure;
  try {
    body = co_await read_length_prefixed(stream, kMaxMessageSize);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) throw AttemptFailed("exchange_failed", failure);
  auto message = decode(body);
  if (!message) throw AttemptFailed("malformed_message", message.error().message);
  if (message->type != expected) throw AttemptFailed("unexpected_message", "dcutr: unexpected message type");
  co_return std::move(*message);
}

awaitable<void> write_message(ByteStream& stream, const HolePunch& message) {
  auto body = encode(message);
  co_await write_length_prefixed(stream, body);
}

bool has_direct(Host& host, const crypto::PeerId& peer) {
  auto connection = host.find_connection(peer);
  return connection && !connection->info().relayed;
}

}  // namespace

DcutrService::DcutrService(Host& host, DcutrOptions options) : host_(host), options_(options) {}

std::shared_ptr<DcutrService> DcutrService::enable(Host& host, DcutrOptions options) {
  auto service = std::make_shared<DcutrService>(host, options);
  std::weak_ptr<DcutrService> weak = service;
  host.resources().set_service(std::string(kProtocol), "dcutr");
  host.set_handler(std::string(kProtocol), [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    if (auto self = weak.lock()) co_await self->answer(std::move(stream));
  });
  host.on_connection([weak](const std::shared_ptr<MuxedConnection>& connection) {
    // B is the side that accepted the relayed connection.
    if (!connection->info().relayed || connection->info().outbound) return;
    if (auto self = weak.lock()) asio::co_spawn(self->host_.executor(), self->upgrade(connection), asio::detached);
  });
  return service;
}

std::vector<Multiaddr> DcutrService::our_addrs() const {
  std::vector<Multiaddr> candidates;
  auto listen_port = [this](const asio::ip::address& family) -> std::optional<std::uint16_t> {
    for (const auto& addr : host_.listen_addrs()) {
      if (auto endpoint = to_tcp_endpoint(addr); endpoint && endpoint->address().is_v4() == family.is_v4())
        return endpoint->port();
    }
    return std::nullopt;
  };
  for (const auto& connection : host_.connections()) {
    if (connection->info().relayed) continue;
    const auto* peer = host_.peer_store().find(connection->info().remote_peer);
    if (!peer || !peer->observed_addr) continue;
    auto observed = to_tcp_endpoint(*peer->observed_addr);
    auto local = to_tcp_endpoint(connection->info().local_addr);
    if (!observed || !local) continue;
    auto port = listen_port(observed->address());
    if (!port) continue;
    // Seen on a connection that left from another port: only the address carries over.
    if (local->port() != *port) observed->port(*port);
    candidates.push_back(to_multiaddr(*observed));
  }
  if (host_.listen_addrs().empty()) return {};
  for (const auto& addr : host_.advertised_addrs()) candidates.push_back(addr);
  return punchable(candidates);
}

void DcutrService::fail(const std::string& reason) { ++counters_.failures[reason]; }

struct DcutrService::Slot {
  std::weak_ptr<DcutrService> service;
  ~Slot() {
    if (auto s = service.lock()) --s->running_;
  }
};

std::shared_ptr<DcutrService::Slot> DcutrService::take_slot() {
  if (running_ >= options_.max_concurrent) {
    fail("too_many_punches");
    return nullptr;
  }
  ++running_;
  // Built in place: a temporary Slot would give the place back when it dies.
  auto slot = std::make_shared<Slot>();
  slot->service = weak_from_this();
  return slot;
}

awaitable<void> DcutrService::upgrade(std::shared_ptr<MuxedConnection> relayed) {
  auto self = shared_from_this();
  const auto peer = relayed->info().remote_peer;
  if (has_direct(host_, peer)) co_return;
  auto slot = take_slot();
  if (!slot) co_return;
  ++counters_.upgrades_started;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (has_direct(host_, peer)) {
      // Made meanwhile (A's dial reached our listener first, or A dialed us directly).
      ++counters_.successes;
      retire(relayed);
      co_return;
    }
    if (relayed->is_closed()) {
      fail("relayed_connection_closed");
      break;
    }
    std::string reason;
    std::string detail;
    try {
      if (co_await attempt_as_b(relayed)) {
        ++counters_.successes;
        log::module<"dcutr">()->info("hole punch to {} succeeded (attempt {})", peer.to_string(), attempt + 1);
        retire(relayed);
        co_return;
      }
    } catch (const AttemptFailed& e) {
      reason = e.reason;
      detail = e.what();
    } catch (const std::exception& e) {
      reason = "punch_failed";
      detail = e.what();
    }
    fail(reason);
    log::module<"dcutr">()->info("hole punch to {} failed (attempt {}, {}): {}", peer.to_string(), attempt + 1, reason, detail);
    // No address on either side, or a peer without DCUtR: trying again changes nothing.
    if (reason == "no_addresses" || reason == "protocol_refused" || reason == "peer_sent_no_addresses") break;
  }
  ++counters_.upgrades_failed;
}

awaitable<bool> DcutrService::attempt_as_b(std::shared_ptr<MuxedConnection> relayed) {
  const auto peer = relayed->info().remote_peer;
  ++counters_.attempts;
  auto ours = our_addrs();
  if (ours.empty()) throw AttemptFailed("no_addresses", "no address of ours to offer (not listening?)");
  std::vector<std::string> protocols{std::string(kProtocol)};
  std::shared_ptr<MuxedStream> stream;
  std::string refused;
  try {
    // Confirmed, not optimistic: a peer without DCUtR (js-libp2p without the service) says so here.
    stream = co_await host_.open_stream(relayed, protocols, true);
  } catch (const std::exception& e) {
    refused = e.what();
  }
  if (!stream) {
    throw AttemptFailed(refused.find("not supported") != std::string::npos ? "protocol_refused" : "exchange_failed",
                        refused);
  }
  MuxedStream* raw = stream.get();
  std::vector<Multiaddr> theirs;
  Clock::duration rtt{};
  std::string exchange_error;
  try {
    Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
    auto start = Clock::now();
    HolePunch connect{HolePunch::Type::connect, ours};
    co_await write_message(*stream, connect);
    auto answer = co_await read_message(*stream, HolePunch::Type::connect);
    rtt = Clock::now() - start;
    theirs = punchable(answer.addrs);
    HolePunch sync{HolePunch::Type::sync, {}};
    co_await write_message(*stream, sync);
    co_await stream->close_write();
  } catch (const AttemptFailed&) {
    throw;
  } catch (const std::exception& e) {
    exchange_error = e.what();
  }
  if (!exchange_error.empty()) throw AttemptFailed("exchange_failed", exchange_error);
  if (theirs.empty()) throw AttemptFailed("peer_sent_no_addresses", "the peer offered no address to punch to");
  // SYNC reaches A half a round trip from now, and A dials at once: dial then too.
  std::string punch_error;
  try {
    co_await host_.punch(peer, theirs, PunchRole::server, options_.punch_timeout, rtt / 2);
  } catch (const std::exception& e) {
    punch_error = e.what();
  }
  if (!punch_error.empty()) throw AttemptFailed("punch_failed", punch_error);
  co_return true;
}

awaitable<void> DcutrService::answer(std::shared_ptr<MuxedStream> stream) {
  auto self = shared_from_this();
  auto relayed = stream->connection().shared_from_this();
  const auto peer = relayed->info().remote_peer;
  if (!relayed->info().relayed) {
    stream->reset();  // a direct connection needs no upgrade
    co_return;
  }
  auto slot = take_slot();
  if (!slot) {
    stream->reset();
    co_return;
  }
  std::vector<Multiaddr> theirs;
  std::string reason;
  std::string detail;
  try {
    MuxedStream* raw = stream.get();
    Deadline deadline(host_.executor(), options_.exchange_timeout, [raw] { raw->reset(); });
    auto connect = co_await read_message(*stream, HolePunch::Type::connect);
    theirs = punchable(connect.addrs);
    HolePunch reply{HolePunch::Type::connect, our_addrs()};
    co_await write_message(*stream, reply);
    co_await read_message(*stream, HolePunch::Type::sync);
  } catch (const AttemptFailed& e) {
    reason = e.reason;
    detail = e.what();
  } catch (const std::exception& e) {
    reason = "exchange_failed";
    detail = e.what();
  }
  ++counters_.attempts;
  if (reason.empty() && theirs.empty()) reason = "peer_sent_no_addresses";
  if (reason.empty()) {
    try {
      co_await host_.punch(peer, theirs, PunchRole::client, options_.punch_timeout);
      ++counters_.successes;
      log::module<"dcutr">()->info("hole punch to {} succeeded", peer.to_string());
      retire(relayed);
      co_return;
    } catch (const std::exception& e) {
      reason = "punch_failed";
      detail = e.what();
    }
  }
  fail(reason);
  log::module<"dcutr">()->info("hole punch with {} failed ({}): {}", peer.to_string(), reason, detail);
}

void DcutrService::retire(std::shared_ptr<MuxedConnection> relayed) {
  // New streams go to the direct connection (Host prefers it); the relayed one closes once the
  // streams already on it are done.
  asio::co_spawn(host_.executor(), [relayed]() -> awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto end = Clock::now() + kRetireGrace;
    while (!relayed->is_closed() && relayed->busy_stream_count() > 0 && Clock::now() < end) {
      timer.expires_after(std::chrono::milliseconds(100));
      co_await timer.async_wait(use_awaitable);
    }
    relayed->close();
  }, asio::detached);
}

}  // namespace stargate::p2p::dcutr
