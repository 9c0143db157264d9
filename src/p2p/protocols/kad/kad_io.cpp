#include "p2p/protocols/kad/kad_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/protocols/ping/ping_io.hpp"
#include "p2p/tcp/tcp_address.hpp"

#include <algorithm>
#include <random>

namespace stargate::p2p::kad {
namespace {

bool speaks(const PeerInfo& info, const std::string& protocol) {
  return std::find(info.protocols.begin(), info.protocols.end(), protocol) != info.protocols.end();
}

// Addresses worth putting in the routing table and in answers: without our /p2p/ suffixes.
std::vector<Multiaddr> bare(const std::vector<Multiaddr>& addrs) {
  std::vector<Multiaddr> out;
  for (const auto& a : addrs) out.push_back(a.without_peer_id());
  return out;
}

Candidate candidate_of(const PeerEntry& entry) { return Candidate{entry.id, entry.addrs}; }

bool on_loopback(const Multiaddr& addr) {
  auto endpoint = to_tcp_endpoint(addr);
  return endpoint && is_loopback(endpoint->address());
}

// Loopback addresses mean something only to a requester on the same host: anyone else would
// dial itself (as go-libp2p, we do not hand them out).
void drop_loopback_unless(bool requester_local, std::vector<PeerEntry>& peers) {
  if (requester_local) return;
  for (auto& peer : peers) std::erase_if(peer.addrs, on_loopback);
}

// A refusal that is the requester's own doing: a strike toward its back-off (DhtOptions::offenders).
struct Offence : ErrorException {
  using ErrorException::ErrorException;
};

// What one lookup shares with the requests it has in flight; those may outlive the lookup's
// coroutine (it stops waiting once it is done), so they hold it by shared_ptr.
struct LookupState {
  LookupState(asio::any_io_executor ex, Lookup l) : lookup(std::move(l)), wake(ex) {}
  Lookup lookup;
  Signal wake;
  bool over = false;     // the lookup has returned: late answers are ignored
  bool stop = false;     // the caller has what it wanted
  bool timed_out = false;
};

}  // namespace

std::shared_ptr<Dht> Dht::enable(Host& host, identify::IdentifyService& identify, DhtOptions options) {
  auto dht = std::make_shared<Dht>(host, std::move(options));
  host.resources().set_service(dht->options_.protocol, "kad");
  dht->identify_ = &identify;
  std::weak_ptr<Dht> weak = dht;
  identify.on_identified([weak](const PeerInfo& info) {
    if (auto self = weak.lock(); self && !self->closed_) self->learn(info);
  });
  // Here, in the DHT, rather than in the agent: relays run a DHT too.
  host.on_connection([weak](const std::shared_ptr<MuxedConnection>& connection) {
    if (auto self = weak.lock(); self && !self->closed_) self->refuse_backed_off(connection);
  });
  dht->set_mode(dht->options_.mode);
  return dht;
}

Dht::Dht(Host& host, DhtOptions options)
    : host_(host),
      options_(std::move(options)),
      table_(host.peer_id(), options_.table),
      providers_(options_.providers),
      records_(options_.records),
      peer_limiter_(options_.requests_per_peer),
      ip_limiter_(options_.requests_per_ip),
      offenders_(options_.offenders) {}

Dht::Admission Dht::admit(const crypto::PeerId& from, const Multiaddr& remote_addr) {
  const auto now = std::chrono::steady_clock::now();
  auto verdict = Admission::allowed;
  // Loopback is exempt from the IP limit (every local peer shares it), as from the per-IP
  // connection limit; a relayed connection has no IP of its own.
  if (auto endpoint = to_tcp_endpoint(remote_addr); endpoint && !is_loopback(endpoint->address()))
    if (!ip_limiter_.check(endpoint->address().to_string(), now)) verdict = Admission::ip_limited;
  if (verdict == Admission::allowed && !peer_limiter_.check(from, now)) verdict = Admission::peer_limited;
  if (verdict != Admission::allowed) ++counters_.requests_rate_limited;
  return verdict;
}

bool Dht::backed_off(const crypto::PeerId& peer) const {
  return offenders_.backed_off(peer.to_string(), std::chrono::steady_clock::now());
}

void Dht::strike(const crypto::PeerId& peer) {
  if (!offenders_.strike(peer.to_string(), std::chrono::steady_clock::now())) return;
  ++counters_.peers_backed_off;
  log::module<"kad">()->info("{} keeps sending refused DHT requests: disconnected and backed off for {} ms", peer.to_string(),
                 options_.offenders.backoff.count());
  if (table_.find(peer)) table_.failed(peer);
  // Posted: the refusal's reset goes out first, and the stream being served is not closed under
  // its own coroutine.
  std::vector<std::shared_ptr<MuxedConnection>> doomed;
  for (const auto& c : host_.connections())
    if (c->info().remote_peer == peer) doomed.push_back(c);
  asio::post(host_.executor(), [doomed] {
    for (const auto& c : doomed) c->close();
  });
}

void Dht::refuse_backed_off(const std::shared_ptr<MuxedConnection>& connection) {
  // Our own dials are ours to make (request() does not dial a peer in back-off; the agent may).
  if (connection->info().outbound || !backed_off(connection->info().remote_peer)) return;
  ++counters_.connections_refused_backoff;
  // Closed after the other hooks (identify, the agent's) have run on it.
  asio::post(host_.executor(), [connection] { connection->close(); });
}

void Dht::set_mode(DhtMode mode) {
  options_.mode = mode;
  if (mode == DhtMode::server) {
    std::weak_ptr<Dht> weak = shared_from_this();
    host_.set_handler(options_.protocol, [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
      if (auto self = weak.lock()) co_await self->serve(std::move(stream));
    });
  } else {
    host_.remove_handler(options_.protocol);
  }
  // Peers learn of the change through identify push, and add or drop us.
  if (identify_) identify_->push_to_all();
  log::module<"kad">()->info("DHT in {} mode ({})", mode == DhtMode::server ? "server" : "client", options_.protocol);
}

void Dht::learn(const PeerInfo& info) {
  if (speaks(info, options_.protocol)) {
    std::vector<Multiaddr> direct;
    for (const auto& a : info.addrs)
      if (!a.is_circuit()) direct.push_back(a);
    add_to_table(info.id, std::move(direct));
  } else if (table_.find(info.id)) {
    table_.failed(info.id);  // it went client mode (or dropped the DHT): no longer a server to ask
  }
}

void Dht::add_to_table(const crypto::PeerId& peer, std::vector<Multiaddr> addrs) {
  if (backed_off(peer)) return;
  auto result = table_.add(peer, bare(addrs), Clock::now());
  if (result.check) check_liveness(*result.check);
}

void Dht::check_liveness(crypto::PeerId peer) {
  if (closed_ || !checking_.insert(peer).second) return;
  ++counters_.liveness_checks;
  auto self = shared_from_this();
  asio::co_spawn(host_.executor(), [self, peer]() -> awaitable<void> {
    bool alive = false;
    try {
      auto connection = co_await self->host_.connect(peer);
      std::vector<std::string> protocols{ping::protocol_id};
      auto stream = co_await self->host_.open_stream(connection, protocols);
      MuxedStream* raw = stream.get();
      Deadline deadline(self->host_.executor(), self->options_.rpc_timeout, [raw] { raw->reset(); });
      co_await ping::round_trip(*stream);
      stream->close();
      alive = true;
    } catch (const std::exception& e) {
      log::module<"kad">()->debug("liveness check of {} failed: {}", peer.to_string(), e.what());
    }
    self->checking_.erase(peer);
    if (alive) {
      self->table_.seen(peer, Clock::now());
    } else {
      ++self->counters_.evicted;
      self->table_.failed(peer);
    }
  }, asio::detached);
}

awaitable<void> Dht::serve(std::shared_ptr<MuxedStream> stream) {
  const auto from = stream->connection().info().remote_peer;
  for (std::size_t served = 0; served < options_.max_requests_per_stream; ++served) {
    if (backed_off(from)) {
      // Refused unread: a peer in back-off gets no work out of us.
      ++counters_.requests_refused;
      stream->reset();
      co_return;
    }
    auto body = co_await read_length_prefixed_or_eof(*stream, kMaxMessageSize);
    if (!body) break;
    auto request = decode(*body);
    std::optional<Message> response;
    std::string refusal;
    bool offence = false;
    if (auto admission = admit(from, stream->connection().info().remote_addr); admission != Admission::allowed) {
      refusal = "over its request rate";
      offence = admission == Admission::peer_limited;  // an IP's refusals may be a neighbour's
    } else if (!request) {
      refusal = request.error().message;
      offence = true;
    } else {
      try {
        response = answer(from, *request);
        if (response) {
          const bool local = on_loopback(stream->connection().info().remote_addr);
          drop_loopback_unless(local, response->closer_peers);
          drop_loopback_unless(local, response->provider_peers);
        }
      } catch (const Offence& e) {
        refusal = e.what();
        offence = true;
      } catch (const std::exception& e) {
        refusal = e.what();
      }
    }
    if (!refusal.empty()) {
      ++counters_.requests_refused;
      log::module<"kad">()->debug("refused a DHT request from {}: {}", from.to_string(), refusal);
      stream->reset();
      if (offence) strike(from);
      co_return;
    }
    ++counters_.requests_served;
    if (response) co_await write_length_prefixed(*stream, encode(*response));
  }
  co_await stream->close_write();
}

std::optional<Message> Dht::answer(const crypto::PeerId& from, const Message& request) {
  const auto now = Clock::now();
  switch (request.type) {
    case MessageType::find_node: {
      Message response{request.type, request.key, std::nullopt, closer_peers(request.key, from), {}};
      return response;
    }
    case MessageType::get_value: {
      Message response{request.type, request.key, std::nullopt, closer_peers(request.key, from), {}};
      if (auto value = records_.get(request.key, now)) response.record = Record{request.key, std::move(*value)};
      return response;
    }
    case MessageType::get_providers: {
      Message response{MessageType::get_providers, request.key, std::nullopt, closer_peers(request.key, from), {}};
      for (auto& record : providers_.providers(request.key, now, options_.table.bucket_size)) {
        auto addrs = record.addrs;
        if (addrs.empty())
          if (const auto* info = host_.peer_store().find(record.provider)) addrs = bare(info->addrs);
        response.provider_peers.push_back(PeerEntry{record.provider, std::move(addrs)});
      }
      return response;
    }
    case MessageType::add_provider: {
      // Only the sender may say it provides something: a record naming another peer is refused.
      bool stored = false;
      for (const auto& provider : request.provider_peers) {
        if (provider.id != from) throw Offence("ADD_PROVIDER for another peer");
        if (request.key.empty()) throw ErrorException("ADD_PROVIDER without a key");
        auto addrs = provider.addrs;
        if (addrs.empty())
          if (const auto* info = host_.peer_store().find(from)) addrs = bare(info->addrs);
        if (providers_.add(request.key, from, std::move(addrs), now)) stored = true;
      }
      if (stored) ++counters_.providers_stored;
      return std::nullopt;  // the spec's ADD_PROVIDER has no response
    }
    case MessageType::put_value: {
      if (!request.record || request.record->key != request.key) throw Offence("PUT_VALUE without a matching record");
      bool offence = false;
      if (auto why = store_record(*request.record, &offence); !why.empty()) {
        if (offence) throw Offence("PUT_VALUE refused: " + why);
        throw ErrorException("PUT_VALUE refused: " + why);
      }
      Message echo{MessageType::put_value, request.key, request.record, {}, {}};
      return echo;  // the spec's answer: the request, echoed
    }
    case MessageType::ping:
      throw ErrorException("kad PING is deprecated: use /ipfs/ping/1.0.0");
  }
  throw ErrorException("unknown request");
}

std::string Dht::store_record(const Record& record, bool* offence) {
  const auto now = Clock::now();
  if (record.value.size() > records_.config().max_value_size) {
    ++counters_.records_refused;
    if (offence) *offence = true;
    return "record of " + std::to_string(record.value.size()) + " bytes";
  }
  // Bad signatures, timestamps from the future, unknown namespaces: the sender's doing.
  if (auto why = validators_.validate(record.key, record.value); !why.empty()) {
    ++counters_.records_refused;
    if (offence) *offence = true;
    return why;
  }
  if (auto existing = records_.get(record.key, now)) {
    std::vector<Bytes> both{std::move(*existing), record.value};
    if (validators_.select(record.key, both) == 0 && both[0] != both[1]) {
      ++counters_.records_refused;
      return "a better record is stored";
    }
  }
  if (!records_.put(record.key, record.value, now)) {
    ++counters_.records_refused;
    return "record store full";
  }
  ++counters_.records_stored;
  return {};
}

std::vector<PeerEntry> Dht::closer_peers(const Bytes& key, const crypto::PeerId& exclude) const {
  std::vector<PeerEntry> out;
  for (auto& entry : table_.closest(key_of(key), options_.table.bucket_size + 1)) {
    if (entry.peer == exclude || out.size() >= options_.table.bucket_size) continue;
    auto addrs = entry.addrs;
    if (addrs.empty())
      if (const auto* info = host_.peer_store().find(entry.peer)) addrs = bare(info->addrs);
    if (addrs.size() > kMaxAddrsPerPeer) addrs.resize(kMaxAddrsPerPeer);
    out.push_back(PeerEntry{entry.peer, std::move(addrs)});
  }
  return out;
}

PeerEntry Dht::self_entry() const {
  auto addrs = bare(host_.advertised_addrs());
  if (addrs.size() > kMaxAddrsPerPeer) addrs.resize(kMaxAddrsPerPeer);
  return PeerEntry{host_.peer_id(), std::move(addrs)};
}

awaitable<std::optional<Message>> Dht::request(const Candidate& to, const Message& message) {
  ++counters_.requests_sent;
  try {
    if (backed_off(to.peer)) throw ErrorException("the peer is in back-off");
    if (!to.addrs.empty()) host_.peer_store().add_addrs(to.peer, to.addrs);
    auto connection = co_await host_.connect(to.peer);
    std::vector<std::string> protocols{options_.protocol};
    auto stream = co_await host_.open_stream(connection, protocols);
    MuxedStream* raw = stream.get();
    Deadline deadline(host_.executor(), options_.rpc_timeout, [raw] { raw->reset(); });
    co_await write_length_prefixed(*stream, encode(message));
    if (message.type == MessageType::add_provider) {
      co_await stream->close_write();
      co_return std::nullopt;
    }
    auto body = co_await read_length_prefixed(*stream, kMaxMessageSize);
    stream->close();
    auto response = decode(body);
    if (!response) throw ErrorException(response.error().message);
    if (response->type != message.type) throw ErrorException("a response of another type");
    co_return std::move(*response);
  } catch (...) {
    ++counters_.requests_failed;
    throw;
  }
}

awaitable<LookupResult> Dht::run_lookup(Bytes key, MessageType type,
                                        std::function<bool(const Candidate&, const Message&)> on_response) {
  auto self = shared_from_this();
  ++counters_.lookups;
  std::vector<Candidate> seeds;
  for (auto& entry : table_.closest(key_of(key), options_.lookup.k)) seeds.push_back(Candidate{entry.peer, entry.addrs});
  auto state = std::make_shared<LookupState>(host_.executor(),
                                             Lookup(key_of(key), host_.peer_id(), std::move(seeds), options_.lookup));
  Deadline deadline(host_.executor(), options_.query_timeout, [state] {
    state->timed_out = true;
    state->wake.notify_all();
  });
  Message message;
  message.type = type;
  message.key = key;
  for (;;) {
    if (state->stop || state->timed_out) break;
    for (auto& next : state->lookup.next()) {
      auto stall = std::make_shared<asio::steady_timer>(host_.executor(), options_.stall_after);
      stall->async_wait([state, peer = next.peer](boost::system::error_code ec) {
        if (ec || state->over) return;
        state->lookup.on_stalled(peer);
        state->wake.notify_all();
      });
      asio::co_spawn(host_.executor(), [self, state, next, message, on_response, stall]() -> awaitable<void> {
        std::optional<Message> response;
        try {
          response = co_await self->request(next, message);
        } catch (const std::exception& e) {
          log::module<"kad">()->debug("{} to {} failed: {}", to_string(message.type), next.peer.to_string(), e.what());
        }
        stall->cancel();
        if (state->over) co_return;
        if (!response) {
          state->lookup.on_failure(next.peer);
        } else {
          self->add_to_table(next.peer, next.addrs);  // it answered a DHT request: a server
          std::vector<Candidate> closer;
          for (const auto& p : response->closer_peers) closer.push_back(candidate_of(p));
          if (on_response && on_response(next, *response)) state->stop = true;
          state->lookup.on_response(next.peer, std::move(closer));
        }
        state->wake.notify_all();
      }, asio::detached);
    }
    if (state->lookup.in_flight() == 0 && state->lookup.finished()) break;
    if (state->lookup.in_flight() == 0) continue;  // nothing to wait for: hand out more
    co_await state->wake.wait();
  }
  state->over = true;
  LookupResult result;
  result.closest = state->lookup.closest_answered(options_.lookup.k);
  result.hops = state->lookup.hops();
  result.requests = state->lookup.requests_sent();
  result.timed_out = state->timed_out;
  co_return result;
}

awaitable<LookupResult> Dht::find_closest(Bytes key) {
  std::function<bool(const Candidate&, const Message&)> none;
  co_return co_await run_lookup(std::move(key), MessageType::find_node, std::move(none));
}

awaitable<std::size_t> Dht::send_to_closest(const Bytes& key, const Message& message) {
  auto self = shared_from_this();
  auto closest = co_await find_closest(key);
  // Told in parallel: a slow peer does not hold up the others.
  struct Progress {
    explicit Progress(asio::any_io_executor ex) : done(ex) {}
    Signal done;
    std::size_t pending = 0, told = 0;
  };
  auto progress = std::make_shared<Progress>(host_.executor());
  for (const auto& peer : closest.closest) {
    ++progress->pending;
    asio::co_spawn(host_.executor(), [self, progress, peer, message]() -> awaitable<void> {
      try {
        co_await self->request(peer, message);
        ++progress->told;
      } catch (const std::exception& e) {
        log::module<"kad">()->debug("{} to {} failed: {}", to_string(message.type), peer.peer.to_string(), e.what());
      }
      --progress->pending;
      progress->done.notify_all();
    }, asio::detached);
  }
  while (progress->pending > 0) co_await progress->done.wait();
  co_return progress->told;
}

awaitable<std::size_t> Dht::provide(Bytes key) {
  provided_[key] = Clock::now();
  if (options_.mode == DhtMode::server) providers_.add(key, host_.peer_id(), self_entry().addrs, Clock::now());
  Message message;
  message.type = MessageType::add_provider;
  message.key = key;
  message.provider_peers.push_back(self_entry());
  co_return co_await send_to_closest(key, message);
}

awaitable<std::size_t> Dht::put_value(Bytes key, Bytes value) {
  if (auto why = validators_.validate(key, value); !why.empty()) throw ErrorException("cannot put the record: " + why);
  if (options_.mode == DhtMode::server) store_record(Record{key, value});
  Message message;
  message.type = MessageType::put_value;
  message.key = key;
  message.record = Record{key, std::move(value)};
  co_return co_await send_to_closest(key, message);
}

awaitable<LookupResult> Dht::get_value(Bytes key) {
  struct Found {
    std::vector<Bytes> values;
  };
  auto found = std::make_shared<Found>();
  if (auto local = records_.get(key, Clock::now())) found->values.push_back(std::move(*local));
  LookupResult result;
  if (found->values.empty()) {
    const RecordValidators* validators = &validators_;
    // A named std::function, not a lambda temporary: g++ 12 destroys temporaries bound to a
    // coroutine's by-value parameter twice.
    std::function<bool(const Candidate&, const Message&)> keep_first_valid =
        [found, validators, key](const Candidate& from, const Message& response) {
          if (!response.record || response.record->key != key) return false;
          auto why = validators->validate(key, response.record->value);
          if (!why.empty()) {
            log::module<"kad">()->debug("invalid record from {}: {}", from.peer.to_string(), why);
            return false;
          }
          found->values.push_back(response.record->value);
          return true;
        };
    result = co_await run_lookup(key, MessageType::get_value, std::move(keep_first_valid));
  }
  if (!found->values.empty()) result.value = found->values[validators_.select(key, found->values)];
  co_return result;
}

awaitable<LookupResult> Dht::find_providers(Bytes key, std::size_t limit) {
  struct Found {
    std::vector<PeerEntry> providers;
    void add(PeerEntry entry) {
      auto same = [&](const PeerEntry& e) { return e.id == entry.id; };
      if (std::find_if(providers.begin(), providers.end(), same) == providers.end()) providers.push_back(std::move(entry));
    }
  };
  auto found = std::make_shared<Found>();
  for (auto& record : providers_.providers(key, Clock::now(), limit))
    found->add(PeerEntry{record.provider, std::move(record.addrs)});
  LookupResult result;
  if (found->providers.size() < limit) {
    auto* store = &host_.peer_store();
    std::function<bool(const Candidate&, const Message&)> collect =
        [found, limit, store](const Candidate&, const Message& response) {
          for (const auto& p : response.provider_peers) {
            if (!p.addrs.empty()) store->add_addrs(p.id, p.addrs);
            found->add(p);
          }
          return found->providers.size() >= limit;
        };
    result = co_await run_lookup(key, MessageType::get_providers, std::move(collect));
  }
  result.providers = std::move(found->providers);
  if (result.providers.size() > limit) result.providers.resize(limit);
  co_return result;
}

awaitable<std::size_t> Dht::bootstrap() {
  auto self = shared_from_this();
  std::size_t answered = 0;
  Message ask_for_us;
  ask_for_us.type = MessageType::find_node;
  ask_for_us.key = host_.peer_id().bytes();
  for (const auto& addr : options_.bootstrap) {
    auto id_bytes = addr.peer_id_bytes();
    auto id = id_bytes ? crypto::PeerId::from_bytes(*id_bytes) : crypto::PeerId::from_bytes(Bytes{});
    if (!id || *id == host_.peer_id()) continue;
    try {
      Candidate peer{*id, {addr.without_peer_id()}};
      co_await request(peer, ask_for_us);
      add_to_table(peer.peer, peer.addrs);
      ++answered;
    } catch (const std::exception& e) {
      log::module<"kad">()->info("bootstrap peer {} did not answer: {}", addr.to_string(), e.what());
    }
  }
  co_await find_closest(host_.peer_id().bytes());
  if (!maintenance_timer_ && !closed_) {
    maintenance_timer_ = std::make_shared<asio::steady_timer>(host_.executor());
    asio::co_spawn(host_.executor(), [self]() -> awaitable<void> { co_await self->maintenance_loop(); }, asio::detached);
  }
  co_return answered;
}

awaitable<void> Dht::maintenance_loop() {
  auto timer = maintenance_timer_;
  const auto tick = std::min<Clock::duration>(options_.refresh_interval, std::chrono::minutes(1));
  auto last_refresh = Clock::now();
  std::mt19937_64 random(std::random_device{}());
  while (!closed_) {
    timer->expires_after(tick);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) co_return;
    const auto now = Clock::now();
    providers_.expire(now);
    records_.expire(now);
    try {
      if (now - last_refresh >= options_.refresh_interval) {
        last_refresh = now;
        // Our own neighbourhood, and a random key, keep both near and far buckets populated.
        co_await find_closest(host_.peer_id().bytes());
        Bytes random_key(32);
        for (auto& b : random_key) b = static_cast<std::uint8_t>(random());
        co_await find_closest(random_key);
        std::size_t checks = 0;
        for (const auto& peer : table_.stale(now, std::chrono::duration_cast<std::chrono::seconds>(options_.refresh_interval)))
          if (checks++ < 8) check_liveness(peer);
      }
      std::vector<Bytes> due;
      for (const auto& [key, published] : provided_)
        if (now - published >= options_.republish_interval) due.push_back(key);
      for (auto& key : due)
        if (!closed_ && provided_.contains(key)) co_await provide(key);
    } catch (const std::exception& e) {
      log::module<"kad">()->debug("DHT maintenance: {}", e.what());
    }
  }
}

void Dht::close() {
  closed_ = true;
  if (maintenance_timer_) maintenance_timer_->cancel();
  host_.remove_handler(options_.protocol);
}

}  // namespace stargate::p2p::kad
