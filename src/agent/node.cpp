// StarGateNode over NATS: signed announcements and discovery, and JSON-RPC calls sealed end to
// end in Noise IK sessions (nats/sealed). The broker only ever sees announcements (public by
// design) and sealed bytes.
#include "stargate/node.hpp"

#include "agent/announcement.hpp"
#include "agent/dht_registry.hpp"
#include "agent/call_limiter.hpp"
#include "agent/jsonrpc.hpp"
#include "agent/nats_urls.hpp"
#include "agent/p2p_endpoint.hpp"
#include "agent/resource_report.hpp"
#include "agent/result_cache.hpp"
#include "http/metrics_server.hpp"
#include "metrics/registry.hpp"
#include "base/log.hpp"
#include "crypto/key_file.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/random.hpp"
#include "crypto/session_key.hpp"
#include "nats/client.hpp"
#include "nats/sealed/chunking.hpp"
#include "nats/sealed/session_table.hpp"
#include "p2p/host/length_prefixed.hpp"
#include "p2p/host/signal.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace stargate {

namespace json = boost::json;
using p2p::awaitable;
using p2p::use_awaitable;
namespace asio = boost::asio;

namespace {

auto logger() {
  static auto l = log::get("agent");
  return l;
}

// Spawns `op` on `executor` and waits for it at most `limit`: true when it finished in time (an
// error it ended with is logged, as `what`). One still running then is abandoned: it goes on (or
// is destroyed with its io_context), so it must own what it uses.
awaitable<bool> finish_within(asio::any_io_executor executor, std::chrono::milliseconds limit, awaitable<void> op,
                              std::string what) {
  struct State {
    explicit State(asio::any_io_executor e) : timer(std::move(e)) {}
    asio::steady_timer timer;
    bool done = false;
  };
  auto state = std::make_shared<State>(executor);
  state->timer.expires_after(limit);
  asio::co_spawn(executor, std::move(op), [state, what](std::exception_ptr failure) {
    state->done = true;
    state->timer.cancel();
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      logger()->info("{}: {}", what, e.what());
    }
  });
  while (!state->done) {
    boost::system::error_code ec;
    co_await state->timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!ec) break;  // the time is up
  }
  if (!state->done) logger()->info("{}: not done within {} ms, abandoned", what, limit.count());
  co_return state->done;
}

awaitable<void> drain_gossip(std::shared_ptr<p2p::gossipsub::GossipsubService> pubsub, std::chrono::milliseconds limit) {
  co_await pubsub->drain(limit);
}

awaitable<void> flush_nats(std::shared_ptr<nats::Client> client, std::chrono::milliseconds limit) {
  co_await client->flush(limit);
}

agent::UnixMillis unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex(std::size_t bytes) {
  Bytes raw(bytes);
  crypto::random_bytes(raw);
  return to_hex(raw);
}

CallError to_call_error(const agent::RpcError& e) { return CallError(e.code, e.message, e.data); }

CallError error_of(agent::ErrorCode code, std::string message) {
  return CallError(static_cast<int>(code), std::move(message));
}

constexpr std::string_view agents_subject_prefix = "traylinx.agents.";

// The time a caller will still wait, for the request's deadline_ms (at least 1).
std::int64_t remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return std::clamp<std::int64_t>(left, 1, agent::kMaxDeadlineMs);
}

// Who sent a request, as the transport authenticated it, and from which IP when the transport
// knows (a direct libp2p connection; not a relayed one, not NATS).
struct Caller {
  std::string agent_id;
  std::string peer_id;
  std::optional<std::string> ip;
};

// A libp2p attempt that did not produce a response (no address worked, the stream failed): the
// call may still go through the broker. A callee's error response is not one of these.
struct TransportFailure : std::runtime_error {
  explicit TransportFailure(const std::string& what, bool timed_out_ = false)
      : std::runtime_error(what), timed_out(timed_out_) {}
  bool timed_out;  // the time given ran out (rather than every address failing)
};

// What a caller is told when libp2p was its only way: timeout or unreachable.
CallError final_error(const TransportFailure& e) {
  return CallError(static_cast<int>(e.timed_out ? agent::ErrorCode::timeout : agent::ErrorCode::unreachable), e.what());
}

// The host's pool settings from the node's; throws on values the pool cannot work with.
p2p::pool::PoolConfig pool_config(const NodeOptions& options) {
  if (options.pool_max_connections == 0) throw std::invalid_argument("NodeOptions::pool_max_connections must be at least 1");
  if (options.pool_idle_timeout.count() <= 0) throw std::invalid_argument("NodeOptions::pool_idle_timeout must be positive");
  if (options.pool_grace_period.count() < 0) throw std::invalid_argument("NodeOptions::pool_grace_period must not be negative");
  p2p::pool::PoolConfig config;
  config.max_connections = options.pool_max_connections;
  config.idle_timeout = options.pool_idle_timeout;
  config.grace_period = options.pool_grace_period;
  return config;
}

// Throws on rates and bursts the token buckets cannot work with (settings validation catches them
// earlier for the CLI; this guards the API).
void check_rate_limits(const NodeOptions::RateLimits& r) {
  auto check = [](double rate, double burst, const char* what) {
    if (!(rate > 0) || !(burst >= 1))
      throw std::invalid_argument(std::string("NodeOptions::rate_limits: ") + what +
                                  " needs a rate above 0 per second and a burst of at least 1");
  };
  check(r.calls_per_second, r.calls_burst, "calls");
  check(r.calls_per_ip_per_second, r.calls_per_ip_burst, "calls per IP");
  check(r.announcements_per_second, r.announcements_burst, "announcements");
  if (r.strikes_before_backoff == 0) throw std::invalid_argument("NodeOptions::rate_limits.strikes_before_backoff must be at least 1");
  if (r.calls_in_flight == 0 || r.calls_in_flight_per_peer == 0 || r.calls_in_flight_per_ip == 0)
    throw std::invalid_argument("NodeOptions::rate_limits: calls in flight (in all, per peer, per IP) must be at least 1");
  if (r.request_header_timeout <= std::chrono::milliseconds::zero() || r.request_timeout <= std::chrono::milliseconds::zero())
    throw std::invalid_argument("NodeOptions::rate_limits: request timeouts must be above 0");
}

// A caller cut off for holding a call slot without sending its request weighs this many refusals:
// a few stalls within the strike window put it in back-off, not a hundred.
constexpr std::size_t kStrikesPerStall = 10;

OffenderTracker::Config offender_config(const NodeOptions::RateLimits& r) {
  OffenderTracker::Config config;
  config.strikes = r.strikes_before_backoff;
  config.window = r.strike_window;
  config.backoff = r.backoff;
  return config;
}

agent::CallLimits call_limits(const NodeOptions::RateLimits& r) {
  agent::CallLimits limits;
  limits.per_peer = RateLimit{r.calls_per_second, r.calls_burst};
  limits.per_ip = RateLimit{r.calls_per_ip_per_second, r.calls_per_ip_burst};
  limits.offenders = offender_config(r);
  return limits;
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
  struct PendingCall {
    explicit PendingCall(asio::any_io_executor ex) : wake(ex) {}
    crypto::X25519Key callee_static{};
    std::string callee_agent;
    nats::sealed::SessionHandle session;
    std::optional<json::value> result;
    std::optional<CallError> error;
    bool unknown_session = false;  // the callee lost our session: handshake again
    p2p::Signal wake;
    bool done() const { return result || error || unknown_session; }
  };

  Impl(asio::any_io_executor ex, NodeOptions opts)
      : calls_family(registry.counter_family("stargate_calls",
                                             "Calls this node made, by tier (direct, relay, nats; for a failure the tier "
                                             "asked for, any for the cascade) and outcome",
                                             {"tier", "outcome"})),
        latency_family(registry.histogram_family("stargate_call_duration_seconds", "Duration of successful calls, by tier",
                                                 {"tier"})),
        executor(ex),
        options(std::move(opts)),
        announce_timer(ex),
        call_limiter(call_limits(options.rate_limits)),
        announce_limiter(RateLimit{options.rate_limits.announcements_per_second, options.rate_limits.announcements_burst}),
        announce_offenders(offender_config(options.rate_limits)) {
    registry.add_collector([this](metrics::Collection& out) { collect(out); });
  }

  // Declared first among the metrics members so that the families and the server can use it.
  metrics::Registry registry;
  // At most once per request, across transports: results by (caller, request ID), and a signal per
  // run in progress for the retries that join it.
  agent::ResultCache results;
  std::unordered_map<std::string, std::shared_ptr<p2p::Signal>> runs;
  metrics::Family<metrics::Counter>& calls_family;
  metrics::Family<metrics::Histogram>& latency_family;
  std::unique_ptr<http::MetricsServer> metrics_server;
  std::string metrics_address;

  asio::any_io_executor executor;
  NodeOptions options;
  std::optional<crypto::Ed25519PrivateKey> identity;
  std::string agent_id, peer_id;
  std::unique_ptr<nats::sealed::SessionTable> sessions;
  std::shared_ptr<nats::Client> nats;  // null when use_nats is false
  std::unique_ptr<agent::P2pEndpoint> p2p;
  std::vector<nats::Subscription> subscriptions;
  agent::PeerDirectory directory;
  nats::sealed::Reassembler reassembler;
  std::map<std::string, Handler, std::less<>> handlers;
  Handler catch_all;
  std::string inbox;
  std::unordered_map<std::string, std::shared_ptr<PendingCall>> pending;
  // NATS requests are serialized here (call_nats), kept for the next call up to 1 MiB.
  std::string request_buffer;
  static constexpr std::size_t kKeptRequestBuffer = std::size_t{1} << 20;
  asio::steady_timer announce_timer;
  std::shared_ptr<asio::steady_timer> dht_timer;  // the DHT republish timer, once joined
  std::uint64_t dht_publishes = 0;
  std::chrono::system_clock::time_point dht_last_published{};
  bool started = false, stopped = false;
  NodeStatus counters;
  std::map<std::string, std::uint64_t> rejected_by_reason;
  // Abuse prevention (docs/limits.md, "Rate limits"): calls served, per caller and per IP; verified
  // announcements, per agent; and who is in back-off for being refused too often.
  agent::CallLimiter call_limiter;
  RateLimiter<std::string> announce_limiter;
  OffenderTracker announce_offenders;

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
    info.x25519_key = sessions->static_public_key();
    info.ttl = ttl.value_or(options.announce_ttl);
    auto wire = agent::sign_announcement(*identity, info, unix_ms());
    if (!wire) throw std::runtime_error("cannot sign announcement: " + wire.error().message);
    return std::move(*wire);
  }

  // Sealed messages larger than the broker's max_payload travel in chunks (docs/nats-sealed-session.md).
  void publish_sealed(const std::string& subject, BytesView wire, const std::string& reply) {
    // Room left for the protocol line the server counts against max_payload is not needed: the
    // limit applies to the payload alone; keep a small margin anyway.
    std::size_t room = nats->max_payload() > 1024 ? nats->max_payload() - 256 : nats->max_payload();
    if (wire.size() <= room) {
      nats->publish(subject, wire, reply);
      return;
    }
    auto chunks = nats::sealed::split(wire, room, nats::sealed::random_message_id());
    if (!chunks) throw error_of(agent::ErrorCode::payload_too_large, "cannot split message: " + chunks.error().message);
    for (const auto& chunk : *chunks) nats->publish(subject, chunk, reply);
  }

  // Gathers a chunked message: the whole sealed message, `data` itself or the reassembled bytes
  // (kept in `whole`); nullopt while chunks are missing or when one is refused.
  std::optional<BytesView> gather(std::string_view sender, BytesView data, Bytes& whole) {
    if (!nats::sealed::is_chunk(data)) return data;
    auto gathered = reassembler.add(sender, data, std::chrono::steady_clock::now());
    if (!gathered) {
      reject("chunk_refused");
      logger()->debug("chunk refused: {}", gathered.error().message);
      return std::nullopt;
    }
    if (!*gathered) return std::nullopt;
    whole = std::move(**gathered);
    return BytesView(whole);
  }

  void reject(const std::string& reason) {
    ++counters.requests_rejected;
    ++rejected_by_reason[reason];
  }

  void on_announcement(const nats::Message& message) { receive_announcement(as_string(message.data)); }

  // A signed announcement from NATS or gossipsub: the same document, the same checks and limits.
  void receive_announcement(std::string_view wire) {
    const auto now = unix_ms();
    auto verified = agent::verify_announcement(wire, now, directory.config().policy);
    if (!verified) return refuse_announcement(verified.error());
    // Limits apply to what the signature proves: an agent ID from an unverified document could be
    // anyone's, and a forger must not spend another agent's tokens. Our own echo is not limited.
    if (verified->agent_id != agent_id && !admit_announcement(*verified)) return;
    auto change = directory.apply(std::move(*verified), now, std::string(wire));
    if (!change) refuse_announcement(change.error());
  }

  // Counted by reason (announcement_bad_signature, announcement_from_future, …: a bounded label).
  void refuse_announcement(const agent::AnnouncementRejection& rejection) {
    // A duplicate is our own echo or a repeated answer, and one older than the announcement held
    // (a "replay") is routine too: announcements travel over NATS and gossipsub (and answers to
    // discovery), so copies arrive twice and out of order. Neither is worth counting as hostile;
    // both are dropped.
    if (rejection.reason != agent::AnnouncementError::duplicate && rejection.reason != agent::AnnouncementError::replay)
      reject("announcement_" + std::string(agent::to_string(rejection.reason)));
    logger()->debug("{}", rejection.to_string());
  }

  // False (counted) when the agent is in back-off or over its announcement rate.
  bool admit_announcement(const agent::Announcement& a) {
    const auto now = std::chrono::steady_clock::now();
    if (announce_offenders.backed_off(a.agent_id, now)) {
      reject("announcement_backoff");
      return false;
    }
    if (announce_limiter.check(a.agent_id, now)) return true;
    reject("announcement_rate_limited");
    if (announce_offenders.strike(a.agent_id, now)) {
      ++counters.peers_backed_off;
      logger()->info("agent {} keeps announcing too often: ignored and disconnected for {} ms", a.agent_id,
                     options.rate_limits.backoff.count());
      disconnect(a.peer_id);
    }
    return false;
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

  // A call over the caller's (or its IP's) rate: the error to answer with, counted; nothing when
  // it may run. A caller that keeps being refused is disconnected and put in back-off.
  std::optional<agent::RpcError> admit_call(const Caller& caller) {
    auto admission = call_limiter.admit(caller.peer_id, caller.ip, std::chrono::steady_clock::now());
    if (admission.allowed()) return std::nullopt;
    ++counters.requests_rate_limited;
    ++counters.requests_rate_limited_by[std::string(agent::to_string(admission.verdict))];
    if (admission.disconnect) {
      ++counters.peers_backed_off;
      logger()->info("caller {} keeps exceeding its rate: disconnected for {} ms", caller.peer_id,
                     options.rate_limits.backoff.count());
      if (auto id = crypto::PeerId::parse(caller.peer_id)) disconnect(*id);
    }
    return agent::rate_limited_error(admission.retry_after);
  }

  // A libp2p caller turned away before its request was read (over its share of the calls in
  // flight) or cut off (too slow to send it): counted, and a strike, like a call over its rate.
  void refused_p2p_call(const crypto::PeerId& caller, agent::A2aRefusal why) {
    ++counters.requests_rate_limited;
    ++counters.requests_rate_limited_by[std::string(agent::to_string(why))];
    const auto key = caller.to_string();
    const auto now = std::chrono::steady_clock::now();
    bool backed_off = false;
    const std::size_t strikes = why == agent::A2aRefusal::too_slow ? kStrikesPerStall : 1;
    for (std::size_t i = 0; i < strikes && !backed_off; ++i) backed_off = call_limiter.offenders().strike(key, now);
    if (backed_off) {
      ++counters.peers_backed_off;
      logger()->info("caller {} keeps holding call slots ({}): disconnected for {} ms", key, agent::to_string(why),
                     options.rate_limits.backoff.count());
      disconnect(caller);
    }
  }

  void on_discovery_query(const nats::Message& message) {
    if (message.reply.empty()) return;
    nats->publish(message.reply, as_bytes(signed_announcement(agent::AnnouncementKind::announce)));
  }

  void publish_plain_error(const std::string& reply, agent::ErrorCode code, const std::string& message) {
    auto body = agent::make_error_response(std::nullopt, agent::RpcError{static_cast<int>(code), message, nullptr});
    nats->publish(reply, as_bytes(body));
  }

  // Sees the message in nats.c's buffer: it is decrypted from there into the session table's
  // buffer and parsed from that, so the payload is neither copied nor allocated on the way in.
  void on_request(const nats::MessageRef& message) {
    if (message.reply.empty()) return reject("no_reply_subject");
    Bytes whole;
    auto wire = gather(message.reply, message.data, whole);
    if (!wire) return;
    auto opened = sessions->open_view(*wire, std::chrono::system_clock::now());
    if (!opened) {
      auto code = opened.error().code;
      reject(std::string(nats::sealed::to_string(code)));
      // Only a lost session is answered (unauthenticated, so it says nothing secret): the caller
      // then handshakes again. Forged, replayed and stale messages are dropped.
      if (code == nats::sealed::Errc::unknown_session)
        publish_plain_error(std::string(message.reply), agent::ErrorCode::unknown_session,
                            "unknown session: handshake again");
      return;
    }
    // Parsed now: the plaintext lives in the table's buffer only until the next message.
    ParsedRequest request = agent::parse_request(as_string(opened->plaintext));
    nats::sealed::OpenedInfo info = std::move(*opened);
    std::string reply(message.reply);
    asio::co_spawn(executor, serve(std::move(info), std::move(request), std::move(reply)), asio::detached);
  }

  using ParsedRequest = boost::system::result<agent::Request, agent::RequestFailure>;
  using SharedResponse = agent::ResultCache::Response;
  static SharedResponse share(std::string response) { return std::make_shared<const std::string>(std::move(response)); }

  // The response to one request, whatever transport carried it. `caller` is who the transport
  // authenticated (none: it could not tell); the request's `from` must name the same agent.
  // Shared with the at-most-once cache (no copy of a large response).
  awaitable<SharedResponse> respond(ParsedRequest request, std::optional<Caller> caller) {
    auto self = shared_from_this();
    SharedResponse response;
    if (!request) {
      reject("invalid_request");
      response = share(agent::make_error_response(request.error().id, request.error().error));
    } else if (!caller || caller->agent_id != request->from) {
      reject("forbidden");
      response = share(agent::make_error_response(
          request->id, agent::RpcError{static_cast<int>(agent::ErrorCode::forbidden),
                                       "'from' does not match the authenticated caller", nullptr}));
    } else if (auto refusal = admit_call(*caller)) {
      // Answered before the at-most-once cache is consulted: a refusal is never stored as the
      // request's result, so a retry after the hint runs the handler.
      response = share(agent::make_error_response(request->id, *refusal));
    } else {
      response = co_await run_once(*request, *caller);
    }
    if (response->size() > agent::kMaxMessageBytes) {
      response = share(agent::make_error_response(request ? std::optional<agent::RequestId>(request->id) : std::nullopt,
                                                  agent::payload_too_large_error(response->size(), agent::kMaxMessageBytes)));
    }
    co_return response;
  }

  // Runs the handler unless this caller's request ran before (its response is sent again) or is
  // running now (this one waits for that run).
  // Moves the request's params into the handler's run.
  awaitable<SharedResponse> run_once(agent::Request& request, const Caller& caller) {
    auto self = shared_from_this();
    const auto key = agent::ResultCache::key(caller.agent_id, agent::to_string(request.id));
    switch (results.begin(key, std::chrono::steady_clock::now())) {
      case agent::ResultCache::State::done:
        ++counters.requests_deduplicated;
        co_return results.shared_response(key);
      case agent::ResultCache::State::running: {
        ++counters.requests_deduplicated;
        auto found = runs.find(key);
        if (found == runs.end())  // only if a flood evicted the first run's entry while it ran
          co_return share(agent::make_error_response(request.id, agent::RpcError{agent::ErrorCode::rate_limited,
                                                                                 "too many requests in flight; retry later"}));
        auto run = found->second;
        while (results.state(key) == agent::ResultCache::State::running && !stopped) co_await run->wait();
        if (auto response = results.shared_response(key)) co_return response;
        co_return share(agent::make_error_response(request.id, agent::RpcError{agent::ErrorCode::internal_error,
                                                                               "the first run of this request ended without a response"}));
      }
      case agent::ResultCache::State::fresh:
        break;
    }
    auto run = std::make_shared<p2p::Signal>(executor);
    runs[key] = run;
    CallContext context{request.method, caller.agent_id, caller.peer_id};
    SharedResponse response;
    try {
      response = share(co_await run_handler(request, context));
    } catch (...) {
    }
    if (auto it = runs.find(key); it != runs.end() && it->second == run) runs.erase(it);
    if (response) {
      results.finish(key, response);
    } else {
      results.abandon(key);
    }
    run->notify_all();
    if (!response) throw std::runtime_error("handler run failed");
    co_return response;
  }

  awaitable<std::string> respond_p2p(std::string text, p2p::ConnectionInfo connection) {
    std::optional<Caller> caller;
    const auto& peer = connection.remote_peer;
    // A relayed connection's address is the relay's: its IP says nothing about the caller.
    std::optional<std::string> ip;
    if (!connection.relayed) ip = agent::ip_of_multiaddr(connection.remote_addr.to_string());
    if (auto id = agent::agent_id_of(peer)) caller = Caller{*id, peer.to_string(), std::move(ip)};
    ParsedRequest request = agent::parse_request(text);
    auto response = co_await respond(std::move(request), caller);
    co_return *response;
  }

  awaitable<void> serve(nats::sealed::OpenedInfo opened, ParsedRequest request, std::string reply) {
    auto self = shared_from_this();
    std::optional<Caller> caller;
    if (opened.peer)
      caller = Caller{opened.peer->agent_id, opened.peer->peer_id, std::nullopt};
    auto response = co_await respond(std::move(request), caller);
    // Sealed into the table's buffer and published at once (no co_await in between).
    auto sealed = sessions->seal_response_view(opened.session, as_bytes(*response), std::chrono::system_clock::now());
    if (!sealed) {
      logger()->warn("cannot seal response: {}", sealed.error().message);
      co_return;
    }
    try {
      publish_sealed(reply, *sealed, {});
    } catch (const std::exception& e) {
      logger()->warn("cannot send response: {}", e.what());
    }
  }

  // Moves request.params into the handler's run.
  awaitable<std::string> run_handler(agent::Request& request, const CallContext& context) {
    Handler handler;
    if (auto it = handlers.find(request.method); it != handlers.end())
      handler = it->second;
    else
      handler = catch_all;
    if (!handler) {
      co_return agent::make_error_response(
          request.id, agent::RpcError{static_cast<int>(agent::ErrorCode::method_not_found),
                                      "method not found: " + request.method, nullptr});
    }
    // The handler runs on a coroutine of its own; when the caller said how long it waits, that
    // coroutine is cancelled (terminal) once the time is up: the caller has given up, so the work
    // stops at its next asynchronous step.
    struct Run {
      explicit Run(asio::any_io_executor ex) : finished(ex) {}
      bool done = false;
      json::value result;
      std::optional<agent::RpcError> failure;
      p2p::Signal finished;
      asio::cancellation_signal cancel;
    };
    auto run = std::make_shared<Run>(executor);
    asio::co_spawn(executor, [run, handler, params = std::move(request.params), context]() -> awaitable<void> {
      try {
        run->result = co_await handler(params, context);
      } catch (const CallError& e) {
        run->failure = agent::RpcError{e.code(), e.what(), e.data()};
      } catch (const std::exception& e) {
        run->failure = agent::RpcError{static_cast<int>(agent::ErrorCode::internal_error),
                                       std::string("handler failed: ") + e.what(), nullptr};
      }
      run->done = true;
      run->finished.notify_all();
    }, asio::bind_cancellation_slot(run->cancel.slot(), asio::detached));
    bool expired = false;
    std::optional<asio::steady_timer> limit;
    if (request.deadline_ms) {
      limit.emplace(executor, std::chrono::milliseconds(*request.deadline_ms));
      limit->async_wait([run, &expired](boost::system::error_code ec) {
        if (ec || run->done) return;
        expired = true;
        run->cancel.emit(asio::cancellation_type::terminal);
        run->finished.notify_all();
      });
    }
    while (!run->done && !expired) co_await run->finished.wait();
    if (limit) limit->cancel();
    std::optional<agent::RpcError> failure = run->failure;
    if (expired) {
      ++counters.handlers_cancelled;
      failure = agent::RpcError{agent::ErrorCode::timeout, "the caller's deadline of " + std::to_string(*request.deadline_ms) +
                                                                " ms passed: the handler was cancelled"};
    }
    ++counters.requests_served;
    if (failure) co_return agent::make_error_response(request.id, *failure);
    co_return agent::make_response(request.id, run->result);  // the run is done: serialized in place
  }

  // Like on_request: opened from nats.c's buffer into the table's, parsed from there.
  void on_reply(const nats::MessageRef& message) {
    Bytes whole;
    auto wire = gather(message.subject, message.data, whole);
    if (!wire) return;
    // <inbox>.c.<call id>: the subject names the call, so even an unauthenticated error can be
    // matched; only "unknown session" is believed from one.
    auto call_id = message.subject.substr(message.subject.rfind('.') + 1);
    auto it = pending.find(std::string(call_id));
    if (it == pending.end()) return;
    auto& call = *it->second;
    if (!wire->empty() && wire->front() == '{') {
      auto response = agent::parse_response(as_string(*wire));
      if (response && !response->outcome && response->outcome.error().is(agent::ErrorCode::unknown_session)) {
        call.unknown_session = true;
        call.wake.notify_all();
      }
      return;
    }
    auto opened = sessions->open_view(*wire, std::chrono::system_clock::now());
    if (!opened) {
      reject(std::string("reply_") + std::string(nats::sealed::to_string(opened.error().code)));
      return;
    }
    if (opened->peer_static != call.callee_static) return reject("reply_from_wrong_peer");
    auto response = agent::parse_response(as_string(opened->plaintext));
    const std::string* id = response && response->id ? std::get_if<std::string>(&*response->id) : nullptr;
    if (!id || *id != call_id) return reject("reply_malformed");
    if (response->outcome)
      call.result = std::move(*response->outcome);
    else
      call.error = to_call_error(response->outcome.error());
    call.wake.notify_all();
  }

  const agent::PeerEntry& resolve(const std::string& peer) {
    auto candidates = directory.resolve(peer);
    if (candidates.empty())
      throw error_of(agent::ErrorCode::unreachable, "unknown agent '" + peer + "' (not announced; try discover)");
    if (candidates.size() > 1) {
      std::string list;
      for (const auto* entry : candidates) list += (list.empty() ? "" : ", ") + entry->announcement.agent_id;
      throw error_of(agent::ErrorCode::invalid_params, "name '" + peer + "' is ambiguous: " + list);
    }
    return *candidates.front();
  }

  awaitable<json::value> call(std::string peer, std::string method, json::value params,
                              std::chrono::milliseconds timeout, Via via) {
    auto self = shared_from_this();
    if (!started || stopped) throw error_of(agent::ErrorCode::unreachable, "node is not running");
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + timeout;
    ++counters.calls_sent;
    const auto before = counters;
    try {
      auto result = co_await route(std::move(peer), std::move(method), std::move(params), deadline, timeout, via);
      ++counters.calls_ok;
      // The tier whose counter moved carried the call.
      const char* tier = counters.calls_ok_direct != before.calls_ok_direct     ? "direct"
                         : counters.calls_ok_relayed != before.calls_ok_relayed ? "relay"
                                                                                : "nats";
      calls_family.with({tier, "ok"}).inc();
      latency_family.with({tier}).observe(std::chrono::steady_clock::now() - start);
      co_return result;
    } catch (const CallError&) {
      ++counters.calls_failed;
      calls_family.with({to_string(via), "error"}).inc();
      throw;
    }
  }

  static agent::P2pEndpoint::Path path_for(Via via) {
    if (via == Via::direct) return agent::P2pEndpoint::Path::direct_only;
    if (via == Via::relay) return agent::P2pEndpoint::Path::relayed_only;
    return agent::P2pEndpoint::Path::any;
  }

  bool uses(Transport transport) const {
    return std::find(options.transports.begin(), options.transports.end(), transport) != options.transports.end();
  }

  // The addresses a peer can be dialed at: what it announced (its preference order: listen
  // addresses, then circuits through its relays), then what libp2p learned (identify).
  std::vector<Multiaddr> dialable_addrs(const crypto::PeerId& peer, const std::vector<std::string>& announced) const {
    std::vector<Multiaddr> out;
    for (const auto& text : announced) {
      if (auto addr = Multiaddr::parse(text)) out.push_back(std::move(*addr));
    }
    if (const auto* known = p2p->host().peer_store().find(peer)) {
      for (const auto& addr : known->addrs) {
        auto full = addr.peer_id_bytes() ? addr : addr.encapsulate(Multiaddr::parse("/p2p/" + peer.to_string()).value());
        if (std::find(out.begin(), out.end(), full) == out.end() && std::find(out.begin(), out.end(), addr) == out.end())
          out.push_back(std::move(full));
      }
    }
    return out;
  }

  // Picks the transports: a multiaddr goes over libp2p only; a peer libp2p knows (announced
  // addresses, identify, an open connection) over the tiers of options.transports in order, each
  // but the last with two thirds of the time left. `via` other than `any` allows one tier only.
  // When every tier fails, the error names each tier's reason (data.attempts).
  awaitable<json::value> route(std::string peer, std::string method, json::value params,
                               std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout,
                               Via via) {
    const auto path = path_for(via);
    const auto call_id = random_hex(12);
    if (via != Via::any && via != Via::nats && !uses(Transport::libp2p))
      throw error_of(agent::ErrorCode::invalid_params, "libp2p is not among this node's transports");
    if (!peer.empty() && peer.front() == '/') {
      if (via == Via::nats) throw error_of(agent::ErrorCode::invalid_params, "a multiaddr is called over libp2p, not NATS");
      if (!uses(Transport::libp2p))
        throw error_of(agent::ErrorCode::invalid_params, "a multiaddr needs libp2p, which is not among this node's transports");
      auto addr = Multiaddr::parse(peer);
      if (!addr) throw error_of(agent::ErrorCode::invalid_params, addr.error().message);
      auto id_bytes = addr->peer_id_bytes();
      auto id = id_bytes ? crypto::PeerId::from_bytes(*id_bytes) : crypto::PeerId::from_bytes({});
      if (!id) throw error_of(agent::ErrorCode::invalid_params, "a multiaddr to call must end in /p2p/<PeerId>: " + peer);
      std::vector<Multiaddr> addrs{*addr};
      try {
        co_return co_await call_libp2p(call_id, *id, addrs, method, params, deadline, timeout, path);
      } catch (const TransportFailure& e) {
        throw final_error(e);
      }
    }
    if (via != Via::nats && uses(Transport::libp2p) && directory.resolve(peer).empty()) {
      // A PeerId libp2p knows (a connection, or addresses from identify) needs no announcement.
      if (auto id = crypto::PeerId::parse(peer)) {
        auto addrs = dialable_addrs(*id, {});
        if (p2p->host().find_connection(*id) || !addrs.empty()) {
          try {
            co_return co_await call_libp2p(call_id, *id, addrs, method, params, deadline, timeout, path);
          } catch (const TransportFailure& e) {
            if (!nats || via != Via::any) throw final_error(e);
          }
        }
      }
    }
    if (nats && directory.resolve(peer).empty()) co_await discover_once();
    if (dht() && directory.resolve(peer).empty()) {
      // Not announced over NATS: the DHT may hold its announcement (by agent ID or PeerId).
      std::string wanted;
      if (crypto::looks_like_agent_id(peer)) wanted = peer;
      else if (auto id = crypto::PeerId::parse(peer); id && peer.size() <= 128)
        if (auto key = id->public_key()) wanted = crypto::agent_id(*key);
      if (!wanted.empty()) co_await dht_fetch_announcement(wanted);
    }
    const auto& entry = resolve(peer);
    const auto callee_id = entry.announcement.peer_id;
    const auto callee_static = entry.announcement.x25519_key;
    const auto callee_agent = entry.announcement.agent_id;
    const auto callee_key = entry.announcement.public_key;
    const auto addrs = dialable_addrs(callee_id, entry.announcement.addresses);

    // The tiers to try, in order.
    std::vector<Transport> tiers;
    if (via == Via::nats) tiers = {Transport::nats};
    else if (via != Via::any) tiers = {Transport::libp2p};
    else tiers = options.transports;
    const bool libp2p_possible = !addrs.empty() || p2p->host().find_connection(callee_id);
    std::erase_if(tiers, [&](Transport t) { return t == Transport::nats ? !nats : !libp2p_possible; });
    if (tiers.empty()) {
      std::string why = via == Via::nats ? "this node has no NATS broker"
                        : nats || via != Via::any ? "no libp2p address known"
                                                  : "no libp2p address known and no NATS broker";
      throw error_of(agent::ErrorCode::unreachable, "cannot reach " + callee_agent + ": " + why);
    }
    json::array attempts;
    for (std::size_t i = 0; i < tiers.size(); ++i) {
      const bool last = i + 1 == tiers.size();
      const auto now = std::chrono::steady_clock::now();
      const auto tier_deadline = last ? deadline : now + (deadline - now) * 2 / 3;
      if (tiers[i] == Transport::libp2p) {
        try {
          co_return co_await call_libp2p(call_id, callee_id, addrs, method, params, tier_deadline, timeout, path,
                                         deadline);
        } catch (const TransportFailure& e) {
          ++counters.libp2p_attempts_failed;
          attempts.push_back(json::object{{"tier", "libp2p"}, {"error", e.what()}});
          if (last) throw all_failed(callee_agent, attempts, final_error(e));
          logger()->debug("libp2p call to {} failed, trying the next transport: {}", callee_agent, e.what());
        }
      } else {
        try {
          co_return co_await call_nats(call_id, callee_static, callee_agent, callee_key, method, params, tier_deadline,
                                       timeout, deadline);
        } catch (const CallError& e) {
          // Only a transport failure moves on; an answer from the callee (even an error) is final.
          const bool transport_failure = e.code() == static_cast<int>(agent::ErrorCode::timeout) ||
                                         e.code() == static_cast<int>(agent::ErrorCode::unreachable);
          if (!transport_failure) throw;
          attempts.push_back(json::object{{"tier", "nats"}, {"error", e.what()}});
          if (last) throw all_failed(callee_agent, attempts, e);
          logger()->debug("NATS call to {} failed, trying the next transport: {}", callee_agent, e.what());
        }
      }
    }
    throw error_of(agent::ErrorCode::unreachable, "cannot reach " + callee_agent);
  }

  // The error of a call whose every tier failed: the last tier's code, every tier's reason.
  static CallError all_failed(const std::string& callee, const json::array& attempts, const CallError& last) {
    if (attempts.size() < 2) return CallError(last.code(), last.what(), json::object{{"attempts", attempts}});
    std::string message = "cannot reach " + callee + ":";
    for (const auto& a : attempts) {
      message += std::string(" ") + a.at("tier").as_string().c_str() + ": " + a.at("error").as_string().c_str() + ";";
    }
    message.pop_back();
    return CallError(last.code(), std::move(message), json::object{{"attempts", attempts}});
  }

  // One call over libp2p. Throws TransportFailure when no response came (the caller may fall back),
  // CallError when the callee answered with an error.
  // `call_id` is the request ID: the same for every tier and retry of one call, so that the callee
  // runs it at most once (ResultCache).
  awaitable<json::value> call_libp2p(std::string call_id, crypto::PeerId callee, std::vector<Multiaddr> addrs,
                                     std::string method, json::value params,
                                     std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout,
                                     agent::P2pEndpoint::Path path = agent::P2pEndpoint::Path::any,
                                     std::optional<std::chrono::steady_clock::time_point> caller_deadline = std::nullopt) {
    // The callee is told the whole call's deadline, not this tier's share: a handler that takes
    // longer than the share runs on, and a retry over the next tier joins it (ResultCache).
    auto request = agent::make_request(method, params, agent::RequestId(call_id), agent_id,
                                       remaining_ms(caller_deadline.value_or(deadline)));
    if (request.size() > agent::kMaxMessageBytes)
      throw to_call_error(agent::payload_too_large_error(request.size(), agent::kMaxMessageBytes));
    // The exchange runs on its own; this waits for it or for the deadline, whichever comes first.
    struct Outcome {
      explicit Outcome(asio::any_io_executor ex) : wake(ex) {}
      std::optional<agent::P2pEndpoint::Answer> answer;
      std::optional<std::string> failure;
      std::optional<CallError> error;
      p2p::Signal wake;
    };
    auto outcome = std::make_shared<Outcome>(executor);
    auto self = shared_from_this();
    asio::co_spawn(executor, [self, outcome, callee, addrs, request, path]() -> awaitable<void> {
      try {
        outcome->answer = co_await self->p2p->call(callee, addrs, request, path);
      } catch (const p2p::MessageTooLarge& e) {
        outcome->error = to_call_error(agent::payload_too_large_error(static_cast<std::size_t>(e.size)));
      } catch (const std::exception& e) {
        outcome->failure = e.what();
      }
      outcome->wake.notify_all();
    }, asio::detached);
    asio::steady_timer timer(executor, deadline);
    timer.async_wait([outcome](boost::system::error_code ec) {
      if (!ec) outcome->wake.notify_all();
    });
    while (!outcome->answer && !outcome->failure && !outcome->error && std::chrono::steady_clock::now() < deadline)
      co_await outcome->wake.wait();
    if (outcome->error) throw *outcome->error;
    if (outcome->failure) throw TransportFailure(*outcome->failure);
    if (!outcome->answer)
      throw TransportFailure("no libp2p response within " + std::to_string(timeout.count()) + " ms", true);
    auto response = agent::parse_response(outcome->answer->response);
    if (!response) throw TransportFailure("malformed response: " + response.error().message);
    const std::string* id = response->id ? std::get_if<std::string>(&*response->id) : nullptr;
    if (!response->outcome) throw to_call_error(response->outcome.error());
    if (!id || *id != call_id) throw TransportFailure("response does not match the request");
    ++counters.calls_ok_libp2p;
    ++(outcome->answer->relayed ? counters.calls_ok_relayed : counters.calls_ok_direct);
    co_return std::move(*response->outcome);
  }

  // `params` belongs to route(), which awaits this.
  awaitable<json::value> call_nats(std::string call_id, crypto::X25519Key callee_static, std::string callee_agent,
                                   crypto::Ed25519PublicKey callee_key, std::string method, const json::value& params,
                                   std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout,
                                   std::optional<std::chrono::steady_clock::time_point> caller_deadline = std::nullopt) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      // Serialized into the node's request buffer, sealed into the table's and published at once
      // (no co_await in between): no buffer per call.
      std::string& request = request_buffer;
      agent::make_request_into(request, method, params, agent::RequestId(call_id), agent_id,
                               remaining_ms(caller_deadline.value_or(deadline)));
      if (request.size() > agent::kMaxMessageBytes)
        throw to_call_error(agent::payload_too_large_error(request.size(), agent::kMaxMessageBytes));
      auto sealed =
          sessions->seal_request_view(callee_static, as_bytes(request), std::chrono::system_clock::now(), callee_key);
      if (!sealed) throw error_of(agent::ErrorCode::internal_error, "cannot seal request: " + sealed.error().message);
      auto call = std::make_shared<PendingCall>(executor);
      call->callee_static = callee_static;
      call->callee_agent = callee_agent;
      call->session = sealed->session;
      pending[call_id] = call;
      publish_sealed(std::string(agents_subject_prefix) + callee_agent, sealed->wire, inbox + ".c." + call_id);
      if (request.capacity() > kKeptRequestBuffer) std::string().swap(request);  // a large one passed

      asio::steady_timer timer(executor, deadline);
      timer.async_wait([call](boost::system::error_code ec) {
        if (!ec) call->wake.notify_all();
      });
      while (!call->done() && std::chrono::steady_clock::now() < deadline) co_await call->wake.wait();
      pending.erase(call_id);
      if (call->result) {
        ++counters.calls_ok_nats;
        co_return std::move(*call->result);
      }
      if (call->error) throw *call->error;
      if (call->unknown_session) {
        sessions->forget(call->session);
        continue;  // handshake again, once
      }
      // Timed out: a session that never completed is dropped so the next call handshakes anew.
      sessions->forget(call->session);
      throw error_of(agent::ErrorCode::timeout,
                     "call to " + callee_agent + " (" + method + ") timed out after " + std::to_string(timeout.count()) + " ms");
    }
    throw error_of(agent::ErrorCode::unknown_session, "callee keeps losing the session");
  }

  bool nats_up() const { return nats && nats->is_connected(); }

  void publish_announcement(agent::AnnouncementKind kind) {
    if (!nats_up() && !gossip()) return;
    const auto wire = signed_announcement(kind);
    if (nats_up()) nats->publish(std::string(agent::kAnnounceSubject), as_bytes(wire));
    if (auto* pubsub = gossip()) {
      // No subscribed peer yet is not an error: the next refresh reaches those who join.
      if (auto published = pubsub->publish(std::string(agent::kAnnounceSubject), Bytes(wire.begin(), wire.end())); !published)
        logger()->debug("announcement not gossiped: {}", published.error().message);
    }
  }

  void publish_gossip_leave() {
    const auto wire = signed_announcement(agent::AnnouncementKind::leave);
    if (auto* pubsub = gossip()) (void)pubsub->publish(std::string(agent::kAnnounceSubject), Bytes(wire.begin(), wire.end()));
  }

  p2p::gossipsub::GossipsubService* gossip() const { return p2p && !options.client_only ? p2p->gossip() : nullptr; }

  awaitable<void> discover_once() {
    if (nats_up()) {
      nats->publish(std::string(agent::kDiscoverySubject), {}, inbox + ".d");
      asio::steady_timer wait(executor, options.discovery_window);
      co_await wait.async_wait(use_awaitable);
    }
    directory.expire(unix_ms());
  }

  awaitable<void> start_nats() {
    auto self = shared_from_this();
    nats::ClientOptions client;
    client.urls = agent::resolve_nats_urls(options.nats_urls);
    client.name = "stargate " + options.display_name;
    client.user = options.nats_user;
    client.password = options.nats_password;
    client.token = options.nats_token;
    client.token_file = options.nats_token_file;
    client.creds_file = options.nats_creds_file;
    client.connect_timeout = options.connect_timeout;
    // With libp2p listening, the broker is one way in among others: an unreachable one is a
    // warning, and nats.c keeps trying in the background.
    const bool optional = p2p->listening();
    client.retry_on_failed_connect = optional;
    nats = nats::Client::create(executor, client);
    try {
      co_await nats->connect();
    } catch (const std::exception& e) {
      if (!optional) throw;
      logger()->warn("{}; NATS is off for this run, calls go over libp2p", e.what());
    }
    if (nats->is_closed()) {
      nats.reset();
      co_return;
    }

    std::weak_ptr<Impl> weak = shared_from_this();
    inbox = nats->new_inbox();
    subscriptions.push_back(nats->subscribe_ref(inbox + ".>", [weak](const nats::MessageRef& m) {
      auto self = weak.lock();
      if (!self) return;
      if (m.subject.rfind(self->inbox + ".d", 0) == 0)
        self->receive_announcement(as_string(m.data));
      else
        self->on_reply(m);
    }));
    subscriptions.push_back(nats->subscribe(std::string(agent::kAnnounceSubject), [weak](nats::Message m) {
      if (auto self = weak.lock()) self->on_announcement(m);
    }));
    if (!options.client_only) {
      subscriptions.push_back(
          nats->subscribe_ref(std::string(agents_subject_prefix) + agent_id, [weak](const nats::MessageRef& m) {
            if (auto self = weak.lock()) self->on_request(m);
          }));
      subscriptions.push_back(nats->subscribe(std::string(agent::kDiscoverySubject), [weak](nats::Message m) {
        if (auto self = weak.lock()) self->on_discovery_query(m);
      }));
    }
    nats->on_state_change([weak](nats::ConnectionState state) {
      auto self = weak.lock();
      if (!self) return;
      // After a broker restart everyone may have forgotten us: announce again.
      if ((state == nats::ConnectionState::reconnected || state == nats::ConnectionState::connected) &&
          self->started && !self->stopped && !self->options.client_only)
        self->publish_announcement(agent::AnnouncementKind::announce);
    });
    if (nats->is_connected()) co_await nats->flush(std::chrono::milliseconds(options.connect_timeout));
  }

  p2p::kad::Dht* dht() const { return p2p ? p2p->dht() : nullptr; }

  // Our announcement as a DHT record (valid for an hour) and a provider record per capability.
  awaitable<void> dht_publish() {
    auto* table = dht();
    if (!table || stopped) co_return;
    const auto wire = signed_announcement(agent::AnnouncementKind::announce, agent::kDhtAnnouncementTtl);
    // The announcement and each capability are published at once: each is a lookup of its own,
    // and one after the other a round took as long as all of them together.
    struct Round {
      std::size_t pending = 0;
      p2p::Signal done;
    };
    auto round = std::make_shared<Round>(Round{1 + options.capabilities.size(), p2p::Signal(executor)});
    auto finished = [round](const char* what, std::exception_ptr failure, std::size_t stored) {
      if (failure) {
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          logger()->warn("publishing {} to the DHT failed: {}", what, e.what());
        }
      } else {
        logger()->debug("{} stored on {} DHT peers", what, stored);
      }
      if (--round->pending == 0) round->done.notify_all();
    };
    Bytes record(wire.begin(), wire.end());
    asio::co_spawn(executor, table->put_value(agent::announcement_record_key(agent_id), std::move(record)),
                   [finished](std::exception_ptr e, std::size_t n) { finished("announcement", e, n); });
    for (const auto& capability : options.capabilities) {
      asio::co_spawn(executor, table->provide(agent::capability_key(capability)),
                     [finished](std::exception_ptr e, std::size_t n) { finished("capability provider record", e, n); });
    }
    while (round->pending > 0) co_await round->done.wait();
    ++dht_publishes;
    dht_last_published = std::chrono::system_clock::now();
  }

  // Joins the DHT, publishes, and publishes again every dht_republish_interval (sooner when our
  // addresses change: the stored announcement must say where we are).
  awaitable<void> dht_loop() {
    std::weak_ptr<Impl> weak = shared_from_this();
    std::shared_ptr<asio::steady_timer> timer;
    {
      auto self = weak.lock();
      if (!self || !self->dht()) co_return;
      timer = self->dht_timer = std::make_shared<asio::steady_timer>(self->executor);
      try {
        auto answered = co_await self->dht()->bootstrap();
        logger()->info("joined the DHT through {} bootstrap peer(s); {} peers in the routing table", answered,
                       self->dht()->routing_table().size());
        // Now connected to the network: announce over gossipsub to those who just met us.
        self->publish_announcement(agent::AnnouncementKind::announce);
      } catch (const std::exception& e) {
        logger()->warn("DHT bootstrap failed: {}", e.what());
      }
    }
    for (;;) {
      {
        auto self = weak.lock();
        if (!self || self->stopped) co_return;
        co_await self->dht_publish();
        // No relay list: find relays in the DHT, for AutoRelay to reserve on when we are private.
        // After publishing, not before: dialing dead relays (10 s each) must not delay that; a
        // reservation made afterwards changes our addresses, which republishes within seconds.
        if (self->options.relays.empty() && !self->stopped) {
          try {
            co_await self->p2p->connect_relays_from_dht(agent::provider_key(agent::kRelayProviderName));
          } catch (const std::exception& e) {
            logger()->debug("looking for relays in the DHT failed: {}", e.what());
          }
        }
        timer->expires_after(self->options.dht_republish_interval);
      }
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec == asio::error::operation_aborted) {
        // Our addresses changed (or the node stops): let a burst of changes settle first.
        timer->expires_after(std::chrono::seconds(2));
        co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
      }
    }
  }

  // Fetches an agent's announcement from the DHT into the directory; false when none is found.
  awaitable<bool> dht_fetch_announcement(std::string peer_agent_id) {
    auto* table = dht();
    if (!table || peer_agent_id == agent_id) co_return false;
    auto found = co_await table->get_value(agent::announcement_record_key(peer_agent_id));
    if (!found.value) co_return false;
    std::string wire(found.value->begin(), found.value->end());
    auto announcement = agent::verify_announcement(wire, unix_ms(), agent::stored_announcement_policy());
    if (!announcement) co_return false;
    auto applied = directory.apply(std::move(*announcement), unix_ms(), std::move(wire));
    co_return applied || applied.error().reason == agent::AnnouncementError::duplicate ||
        applied.error().reason == agent::AnnouncementError::replay;
  }

  // The agents the DHT says offer `capability`, fetched into the directory.
  awaitable<void> dht_discover(std::string capability) {
    auto* table = dht();
    if (!table) co_return;
    auto self = shared_from_this();
    auto found = co_await table->find_providers(agent::capability_key(capability), 20);
    for (const auto& provider : found.providers) {
      auto key = provider.id.public_key();
      if (!key) continue;
      const auto provider_agent = crypto::agent_id(*key);
      if (provider_agent == agent_id || directory.find(provider_agent)) continue;
      try {
        co_await dht_fetch_announcement(provider_agent);
      } catch (const std::exception& e) {
        logger()->debug("announcement of {} not fetched: {}", provider_agent, e.what());
      }
    }
  }

  NodeStatus status() const {
    NodeStatus status = counters;
    status.metrics_address = metrics_address;
    status.agent_id = agent_id;
    status.peer_id = peer_id;
    status.name = options.display_name;
    status.nats_connected = nats && nats->is_connected();
    if (nats) {
      const auto traffic = nats->traffic();
      status.nats_bytes_in = traffic.bytes_in;
      status.nats_bytes_out = traffic.bytes_out;
    }
    status.known_peers = directory.size();
    if (const auto* table = dht()) {
      status.dht.mode = table->mode() == p2p::kad::DhtMode::server ? "server" : "client";
      status.dht.routing_table_peers = table->routing_table().size();
      status.dht.provider_records = table->provider_store().records();
      status.dht.value_records = table->record_store().size();
      const auto& c = table->counters();
      status.dht.requests_served = c.requests_served;
      status.dht.requests_refused = c.requests_refused;
      status.dht.requests_sent = c.requests_sent;
      status.dht.requests_failed = c.requests_failed;
      status.dht.lookups = c.lookups;
      status.dht.records_refused = c.records_refused;
      status.dht.requests_rate_limited = c.requests_rate_limited;
      status.dht.peers_backed_off = c.peers_backed_off;
      status.dht.connections_refused_backoff = c.connections_refused_backoff;
      status.dht.publishes = dht_publishes;
      status.dht.last_published = dht_last_published;
    }
    if (p2p) {
      if (p2p->listening()) status.addresses = p2p->addresses();
      for (const auto& r : p2p->relay_client().reservations())
        status.reservations.push_back({r.relay.to_string(), r.active, r.expiry, r.last_error});
      if (const auto* monitor = p2p->relay_monitor()) {
        for (const auto& r : monitor->relays()) {
          NodeStatus::Relay relay;
          relay.relay = r.health.relay.to_string();
          relay.address = r.addr.to_string();
          relay.health = std::string(p2p::relay::to_string(r.health.state));
          relay.reserving = r.reserving;
          relay.consecutive_failures = r.health.consecutive_failures;
          if (r.health.last_rtt)
            relay.rtt_ms = std::chrono::duration<double, std::milli>(*r.health.last_rtt).count();
          relay.last_error = r.health.last_error;
          relay.probes_ok = r.health.probes_ok;
          relay.probes_failed = r.health.probes_failed;
          relay.became_unhealthy = r.health.became_unhealthy;
          relay.became_healthy = r.health.became_healthy;
          status.relays.push_back(std::move(relay));
        }
      }
      for (const auto& c : p2p->host().connections()) {
        const auto& info = c->info();
        status.connections.push_back({info.remote_peer.to_string(), info.remote_addr.to_string(), info.relayed, info.outbound});
      }
      const auto traffic = p2p->host().traffic();
      status.libp2p_bytes_in = traffic.bytes_in;
      status.libp2p_bytes_out = traffic.bytes_out;
      auto pool = p2p->host().pool_stats();
      status.pool_size = pool.size;
      status.pool_hits = pool.hits;
      status.pool_misses = pool.misses;
      status.pool_cap_overruns = pool.cap_overruns;
      status.pool_evictions = {{"idle", pool.evictions_idle}, {"capacity", pool.evictions_capacity}};
      status.resources = agent::to_status(p2p->host().resource_usage());
      const auto& punches = p2p->dcutr().counters();
      status.hole_punch_attempts = punches.attempts;
      status.hole_punch_successes = punches.successes;
      status.hole_punch_failures = punches.failures;
      if (auto* autonat = p2p->autonat()) {
        status.reachability = p2p::autonat::to_string(autonat->reachability());
        status.nat_kind = p2p::autonat::to_string(autonat->nat_kind());
      }
    }
    return status;
  }

  // What the directory (NATS announcements) and libp2p's peer store (identify) know, merged: an
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
      for (const auto& addr : dialable_addrs(a.peer_id, a.addresses)) summary.addresses.push_back(addr.to_string());
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
        for (const auto& addr : dialable_addrs(id, {})) summary.addresses.push_back(addr.to_string());
        const auto age = std::chrono::steady_clock::now() - info->last_seen;
        summary.last_seen = std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(age);
        out.push_back(std::move(summary));
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return std::tie(x.name, x.peer_id) < std::tie(y.name, y.peer_id); });
    return out;
  }

  // What the status says, exported at each scrape (nothing is counted twice).
  void collect(metrics::Collection& out) const {
    const auto s = status();
    auto d = [](auto v) { return static_cast<double>(v); };
    out.counter("stargate_libp2p_fallbacks", "libp2p attempts that failed before NATS was tried").add(d(s.libp2p_attempts_failed));
    out.counter("stargate_requests_served", "Requests this node answered").add(d(s.requests_served));
    auto limited = out.counter("stargate_requests_rate_limited",
                               "Calls answered 'rate limited' without running the handler, by the limit that refused "
                               "them (peer, ip, backoff; node_busy, peer_busy, ip_busy: calls in flight; too_slow: "
                               "request not sent in time)", {"limit"});
    for (const char* limit : {"peer", "ip", "backoff", "node_busy", "peer_busy", "ip_busy", "too_slow"}) {
      auto it = s.requests_rate_limited_by.find(limit);
      limited.add({limit}, d(it == s.requests_rate_limited_by.end() ? 0 : it->second));
    }
    out.counter("stargate_peers_backed_off", "Callers and announcing agents put in back-off for repeated refusals")
        .add(d(s.peers_backed_off));
    out.counter("stargate_connections_refused_backoff", "libp2p connections closed because their peer was in back-off")
        .add(d(s.connections_refused_backoff));
    auto rejected = out.counter("stargate_inputs_rejected", "Messages refused, by reason", {"reason"});
    for (const auto& [reason, count] : rejected_by_reason) rejected.add({reason}, d(count));
    out.counter("stargate_holepunch_attempts", "DCUtR hole-punch attempts, both roles").add(d(s.hole_punch_attempts));
    out.counter("stargate_holepunch_successes", "Hole punches that ended in a direct connection").add(d(s.hole_punch_successes));
    auto punch_failures = out.counter("stargate_holepunch_failures", "Failed hole-punch attempts, by reason", {"reason"});
    for (const auto& [reason, count] : s.hole_punch_failures) punch_failures.add({reason}, d(count));
    if (s.dht.mode != "off") {
      out.gauge("stargate_dht_server_mode", "1 when the DHT answers requests (server mode), 0 in client mode")
          .add(s.dht.mode == "server" ? 1.0 : 0.0);
      out.gauge("stargate_dht_routing_table_peers", "Peers in the DHT routing table").add(d(s.dht.routing_table_peers));
      auto stored = out.gauge("stargate_dht_records", "Records kept for other peers, by kind", {"kind"});
      stored.add({"provider"}, d(s.dht.provider_records));
      stored.add({"value"}, d(s.dht.value_records));
      auto requests = out.counter("stargate_dht_requests", "DHT requests, by direction and outcome", {"direction", "outcome"});
      requests.add({"inbound", "served"}, d(s.dht.requests_served));
      requests.add({"inbound", "refused"}, d(s.dht.requests_refused - std::min(s.dht.requests_refused, s.dht.requests_rate_limited)));
      requests.add({"inbound", "rate_limited"}, d(s.dht.requests_rate_limited));
      requests.add({"outbound", "ok"}, d(s.dht.requests_sent - std::min(s.dht.requests_sent, s.dht.requests_failed)));
      requests.add({"outbound", "failed"}, d(s.dht.requests_failed));
      out.counter("stargate_dht_lookups", "Iterative DHT lookups run").add(d(s.dht.lookups));
      out.counter("stargate_dht_records_refused", "DHT records refused: invalid, too large, or older than the one kept")
          .add(d(s.dht.records_refused));
      out.counter("stargate_dht_peers_backed_off", "Peers the DHT disconnected and backed off for repeated refused requests")
          .add(d(s.dht.peers_backed_off));
      out.counter("stargate_dht_connections_refused_backoff", "Inbound connections the DHT closed: their peer was backed off")
          .add(d(s.dht.connections_refused_backoff));
    }
    if (p2p) agent::collect_resource_metrics(out, s.resources);
    out.gauge("stargate_pool_connections", "libp2p connections open (direct and relayed)").add(d(s.pool_size));
    out.counter("stargate_pool_hits", "Connects that reused an open connection").add(d(s.pool_hits));
    out.counter("stargate_pool_misses", "Connects that had to dial").add(d(s.pool_misses));
    out.counter("stargate_pool_cap_overruns", "Times the pool stayed above its cap (every connection busy)")
        .add(d(s.pool_cap_overruns));
    auto evictions = out.counter("stargate_pool_evictions", "Connections the pool closed, by reason", {"reason"});
    for (const auto& [reason, count] : s.pool_evictions) evictions.add({reason}, d(count));
    std::size_t direct = 0, relayed = 0;
    for (const auto& c : s.connections) ++(c.relayed ? relayed : direct);
    out.gauge("stargate_connections", "libp2p connections open now, by kind", {"kind"})
        .add({"direct"}, d(direct))
        .add({"relayed"}, d(relayed));
    std::size_t streams = 0;
    if (p2p) {
      for (const auto& c : p2p->host().connections()) streams += c->stream_count();
    }
    out.gauge("stargate_streams", "Streams open now over all libp2p connections").add(d(streams));
    auto reachability = out.gauge("stargate_reachability", "1 for what AutoNAT concluded: public, private or unknown", {"state"});
    for (const char* state : {"public", "private", "unknown"}) reachability.add({state}, s.reachability == state ? 1 : 0);
    auto nat = out.gauge("stargate_nat_kind", "1 for the NAT in front of the node (identify's observations)", {"kind"});
    for (const char* kind : {"public", "endpoint_independent", "symmetric", "unknown"}) nat.add({kind}, s.nat_kind == kind ? 1 : 0);
    auto reservations = out.gauge("stargate_relay_reservation_active", "1 while a reservation on this relay holds", {"relay"});
    for (const auto& r : s.reservations) reservations.add({r.relay}, r.active ? 1 : 0);
    auto health = out.gauge("stargate_relay_health", "1 for what the health monitor concluded about each configured relay",
                            {"relay", "state"});
    auto rtt = out.gauge("stargate_relay_rtt_seconds", "Round trip of the last successful health probe", {"relay"});
    auto probes = out.counter("stargate_relay_probes", "Relay health probes, by outcome", {"relay", "outcome"});
    auto changes = out.counter("stargate_relay_health_changes", "Times a relay was declared healthy or unhealthy",
                               {"relay", "to"});
    for (const auto& r : s.relays) {
      for (const char* state : {"healthy", "unhealthy", "unknown"}) health.add({r.relay, state}, r.health == state ? 1 : 0);
      if (r.rtt_ms) rtt.add({r.relay}, *r.rtt_ms / 1000.0);
      probes.add({r.relay, "ok"}, d(r.probes_ok)).add({r.relay, "failed"}, d(r.probes_failed));
      changes.add({r.relay, "healthy"}, d(r.became_healthy)).add({r.relay, "unhealthy"}, d(r.became_unhealthy));
    }
    out.counter("stargate_transport_bytes", "Bytes received (in) and sent (out), by transport: libp2p counts its TCP "
                                            "sockets, nats the message bytes through the broker", {"transport", "direction"})
        .add({"libp2p", "in"}, d(s.libp2p_bytes_in))
        .add({"libp2p", "out"}, d(s.libp2p_bytes_out))
        .add({"nats", "in"}, d(s.nats_bytes_in))
        .add({"nats", "out"}, d(s.nats_bytes_out));
    out.gauge("stargate_known_peers", "Agents in the directory").add(d(s.known_peers));
    out.gauge("stargate_nats_connected", "1 when the broker connection is up").add(s.nats_connected ? 1 : 0);
  }

  awaitable<void> announce_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      announce_timer.expires_after(options.announce_interval);
      boost::system::error_code ec;
      co_await announce_timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopped) break;
      directory.expire(unix_ms());
      publish_announcement(agent::AnnouncementKind::announce);
    }
  }
};

StarGateNode::StarGateNode(asio::any_io_executor executor, NodeOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

StarGateNode::~StarGateNode() {
  impl_->stopped = true;
  impl_->announce_timer.cancel();
  if (impl_->dht_timer) impl_->dht_timer->cancel();
  impl_->subscriptions.clear();
  if (impl_->nats) impl_->nats->close();
  if (impl_->p2p) impl_->p2p->close();
  if (impl_->metrics_server) impl_->metrics_server->stop();
}

void StarGateNode::handle(std::string method, Handler handler) { impl_->handlers[std::move(method)] = std::move(handler); }
void StarGateNode::handle_any(Handler handler) { impl_->catch_all = std::move(handler); }

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
  impl->sessions = std::make_unique<nats::sealed::SessionTable>(crypto::derive_session_static_key(*impl->identity),
                                                                *impl->identity);

  if (impl->options.transports.empty()) throw std::runtime_error("no transport: give libp2p, nats or both");
  if (!impl->uses(Transport::nats)) impl->options.use_nats = false;
  if (!impl->uses(Transport::libp2p) && (!impl->options.listen_addrs.empty() || !impl->options.relays.empty()))
    throw std::runtime_error("listen addresses and relays need the libp2p transport, which transports leaves out");
  agent::P2pOptions p2p_options{impl->options.listen_addrs, impl->options.relays, impl->options.announce_addrs,
                                impl->options.treat_as_public, {}, {}, std::nullopt};
  if (impl->options.dht_mode != DhtMode::off && impl->uses(Transport::libp2p) && !impl->options.client_only) {
    agent::P2pOptions::Dht dht;
    dht.mode = impl->options.dht_mode == DhtMode::server ? p2p::kad::DhtMode::server : p2p::kad::DhtMode::client;
    dht.follow_reachability = impl->options.dht_mode == DhtMode::auto_;
    dht.bootstrap = impl->options.bootstrap;
    dht.protocol = impl->options.dht_protocol;
    dht.offenders = offender_config(impl->options.rate_limits);
    dht.disjoint_paths = impl->options.dht_disjoint_paths;
    p2p_options.dht = std::move(dht);
  }
  p2p_options.relay_health.interval = impl->options.relay_health_interval;
  p2p_options.relay_health.reservations = impl->options.relay_reservations;
  p2p_options.pool = pool_config(impl->options);
  p2p_options.resources = impl->options.resources;
  check_rate_limits(impl->options.rate_limits);
  if (impl->options.stop_timeout < std::chrono::milliseconds::zero())
    throw std::invalid_argument("NodeOptions::stop_timeout must not be negative");
  {
    const auto& r = impl->options.rate_limits;
    auto& a2a = p2p_options.a2a;
    a2a.in_flight = {r.calls_in_flight, r.calls_in_flight_per_peer, r.calls_in_flight_per_ip};
    a2a.header_timeout = r.request_header_timeout;
    a2a.body_timeout = r.request_timeout;
    std::weak_ptr<Impl> weak_impl = impl;
    a2a.on_refused = [weak_impl](const crypto::PeerId& caller, agent::A2aRefusal why) {
      if (auto self = weak_impl.lock()) self->refused_p2p_call(caller, why);
    };
  }
  impl->p2p = std::make_unique<agent::P2pEndpoint>(impl->executor, *impl->identity, std::move(p2p_options));
  std::weak_ptr<Impl> weak = impl;
  if (!impl->options.client_only) {
    impl->p2p->start([weak](std::string request, p2p::ConnectionInfo connection) -> awaitable<std::string> {
      auto self = weak.lock();
      if (!self) throw ErrorException("node is gone");
      co_return co_await self->respond_p2p(std::move(request), std::move(connection));
    });
    // A peer in back-off is refused: its new connections are closed as soon as they are up.
    impl->p2p->host().on_connection([weak](const std::shared_ptr<p2p::MuxedConnection>& connection) {
      auto self = weak.lock();
      if (!self) return;
      const auto& peer = connection->info().remote_peer;
      const auto now = std::chrono::steady_clock::now();
      if (!self->call_limiter.offenders().backed_off(peer.to_string(), now)) {
        auto id = agent::agent_id_of(peer);
        if (!id || !self->announce_offenders.backed_off(*id, now)) return;
      }
      ++self->counters.connections_refused_backoff;
      // Closed after the other hooks (identify, DCUtR) have run on it.
      asio::post(self->executor, [connection] { connection->close(); });
    });
    impl->p2p->on_addresses_changed([weak] {
      // New listen or relayed addresses: tell everyone at once rather than at the next refresh.
      auto self = weak.lock();
      if (!self || !self->started || self->stopped) return;
      self->publish_announcement(agent::AnnouncementKind::announce);
      // The DHT's copy too, soon (several changes in a row, as reservations come in, make one).
      if (self->dht_timer) self->dht_timer->cancel();
    });
    if (auto* pubsub = impl->p2p->gossip()) {
      pubsub->subscribe(std::string(agent::kAnnounceSubject), [weak](const p2p::gossipsub::Message& message) {
        if (auto self = weak.lock(); self && !self->stopped)
          self->receive_announcement(std::string_view(reinterpret_cast<const char*>(message.data.data()), message.data.size()));
      });
    }
    if (auto* table = impl->p2p->dht())
      table->add_validator(std::string(agent::kDhtNamespace), agent::announcement_validator([] { return unix_ms(); }));
  }
  if (impl->options.use_nats) co_await impl->start_nats();
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
  co_await announce();
  asio::co_spawn(impl->executor, impl->announce_loop(), asio::detached);
  if (impl->dht()) asio::co_spawn(impl->executor, impl->dht_loop(), asio::detached);
}

awaitable<void> StarGateNode::announce() {
  auto impl = impl_;
  impl->publish_announcement(agent::AnnouncementKind::announce);
  co_return;
}

awaitable<std::vector<PeerSummary>> StarGateNode::discover(std::optional<std::string> capability) {
  auto impl = impl_;
  co_await impl->discover_once();
  if (capability) co_await impl->dht_discover(*capability);
  co_return impl->discovered(capability);
}

awaitable<json::value> StarGateNode::call(std::string peer, std::string method, json::value params,
                                          std::optional<std::chrono::milliseconds> timeout) {
  CallOptions options;
  options.timeout = timeout;
  co_return co_await call(std::move(peer), std::move(method), std::move(params), options);
}

awaitable<json::value> StarGateNode::call(std::string peer, std::string method, json::value params,
                                          CallOptions options) {
  auto impl = impl_;
  co_return co_await impl->call(std::move(peer), std::move(method), std::move(params),
                                options.timeout.value_or(impl->options.default_call_timeout), options.via);
}

std::string_view to_string(Transport transport) { return transport == Transport::nats ? "nats" : "libp2p"; }

std::string_view to_string(DhtMode mode) {
  switch (mode) {
    case DhtMode::auto_: return "auto";
    case DhtMode::server: return "server";
    case DhtMode::client: return "client";
    case DhtMode::off: return "off";
  }
  return "auto";
}

std::optional<DhtMode> parse_dht_mode(std::string_view text) {
  for (DhtMode m : {DhtMode::auto_, DhtMode::server, DhtMode::client, DhtMode::off})
    if (text == to_string(m)) return m;
  return std::nullopt;
}

std::optional<Transport> parse_transport(std::string_view text) {
  for (Transport t : {Transport::libp2p, Transport::nats}) {
    if (text == to_string(t)) return t;
  }
  return std::nullopt;
}

std::string_view to_string(Via via) {
  switch (via) {
    case Via::any: return "any";
    case Via::direct: return "direct";
    case Via::relay: return "relay";
    case Via::nats: return "nats";
  }
  return "any";
}

std::optional<Via> parse_via(std::string_view text) {
  for (Via via : {Via::any, Via::direct, Via::relay, Via::nats}) {
    if (text == to_string(via)) return via;
  }
  return std::nullopt;
}

NodeStatus StarGateNode::get_status() const { return impl_->status(); }

std::string StarGateNode::get_metrics() const { return impl_->registry.render(); }

awaitable<void> StarGateNode::stop() {
  auto impl = impl_;
  if (!impl->started || impl->stopped) co_return;
  impl->stopped = true;
  // Bounded (NodeOptions::stop_timeout): each wait below gets what is left of it at most, and
  // what is not done then is abandoned, however peers and the broker behave.
  const auto deadline = std::chrono::steady_clock::now() + impl->options.stop_timeout;
  auto time_left = [deadline](std::chrono::milliseconds most) {
    const auto rest = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return std::clamp(rest, std::chrono::milliseconds(0), most);
  };
  impl->announce_timer.cancel();
  if (impl->metrics_server) impl->metrics_server->stop();
  if (auto* pubsub = impl->gossip()) {
    // The goodbye over gossipsub too (best effort, bounded), before the host closes.
    impl->publish_gossip_leave();
    if (const auto limit = time_left(std::chrono::milliseconds(500)); limit.count() > 0)
      co_await finish_within(impl->executor, limit, drain_gossip(pubsub->shared_from_this(), limit), "gossipsub goodbye");
  }
  if (impl->p2p) impl->p2p->close();
  if (impl->nats_up() && !impl->options.client_only) {
    // Best effort: a broker that is gone cannot carry the goodbye, and stopping must not fail.
    try {
      impl->nats->publish(std::string(agent::kAnnounceSubject),
                          as_bytes(impl->signed_announcement(agent::AnnouncementKind::leave)));
      if (const auto limit = time_left(std::chrono::milliseconds(1000)); limit.count() > 0)
        co_await finish_within(impl->executor, limit, flush_nats(impl->nats, limit), "leave announcement not confirmed");
    } catch (const std::exception& e) {
      logger()->info("leave announcement not confirmed: {}", e.what());
    }
  }
  impl->subscriptions.clear();
  if (impl->nats) impl->nats->close();
}

const std::string& StarGateNode::agent_id() const { return impl_->agent_id; }
const std::string& StarGateNode::peer_id() const { return impl_->peer_id; }

}  // namespace stargate
