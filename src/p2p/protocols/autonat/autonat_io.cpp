#include "p2p/protocols/autonat/autonat_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/host/length_prefixed.hpp"

#include <algorithm>
#include <random>

namespace stargate::p2p::autonat {
namespace {

ProbeOutcome outcome_of(Status status) {
  switch (status) {
    case Status::ok: return ProbeOutcome::reachable;
    case Status::dial_error: return ProbeOutcome::unreachable;
    default: return ProbeOutcome::no_evidence;
  }
}

bool supports_autonat(const PeerInfo* info) {
  return info && std::find(info->protocols.begin(), info->protocols.end(), kProtocol) != info->protocols.end();
}

}  // namespace

std::size_t status_index(Status status) {
  switch (status) {
    case Status::ok: return 0;
    case Status::dial_error: return 1;
    case Status::dial_refused: return 2;
    case Status::bad_request: return 3;
    case Status::internal_error: break;
  }
  return 4;
}

ReachabilityService::ReachabilityService(Host& host, AutonatOptions options)
    : host_(host),
      options_(std::move(options)),
      policy_(options_.classifier, options_.server_limits),
      tracker_(options_.tracker),
      nat_(options_.nat),
      timer_(host.executor()) {}

ReachabilityService::~ReachabilityService() { close(); }

std::shared_ptr<ReachabilityService> ReachabilityService::enable(Host& host, identify::IdentifyService& identify,
                                                                 AutonatOptions options) {
  auto service = std::make_shared<ReachabilityService>(host, std::move(options));
  std::weak_ptr<ReachabilityService> weak = service;
  host.resources().set_service(std::string(kProtocol), "autonat");
  if (service->options_.serve) {
    host.set_handler(std::string(kProtocol), [weak](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
      if (auto self = weak.lock()) co_await self->serve(std::move(stream));
    });
  }
  identify.on_observed([weak](const MuxedConnection& connection, const Multiaddr& observed) {
    if (auto self = weak.lock()) self->observed(connection, observed);
  });
  if (service->options_.probe) {
    host.on_addrs_changed([weak] {
      auto self = weak.lock();
      if (!self) return;
      self->tracker_.addresses_changed();
      self->probe_soon();
    });
    asio::co_spawn(host.executor(), service->run(), asio::detached);
  }
  return service;
}

void ReachabilityService::notify() {
  log::module<"autonat">()->info("reachability {} (confidence {}), NAT {}", to_string(tracker_.reachability()), tracker_.confidence(),
                 to_string(nat_.kind()));
  for (const auto& hook : change_hooks_) hook();
}

// ---------------------------------------------------------------- server

awaitable<void> ReachabilityService::serve(std::shared_ptr<MuxedStream> stream) {
  auto self = shared_from_this();
  auto connection = stream->connection().shared_from_this();
  const ConnectionInfo info = connection->info();
  MuxedStream* raw = stream.get();
  Result<DialRequest> request = make_error("no request");
  {
    Deadline deadline(host_.executor(), options_.read_timeout, [raw] { raw->reset(); });
    try {
      auto body = co_await read_length_prefixed(*stream, kMaxMessageSize);
      request = decode_dial(body);
    } catch (const MessageTooLarge& e) {
      request = make_error(e.what());
    }
  }
  auto decision = policy_.decide(info.remote_peer, info.remote_addr, info.relayed, request, Clock::now());
  DialResponse response;
  if (const auto* refusal = std::get_if<Refusal>(&decision)) {
    log::module<"autonat">()->debug("dial-back for {} refused ({}): {}", info.remote_peer.to_string(), to_string(refusal->reason),
                    refusal->text);
    response = refusal->response();
  } else {
    response = co_await dial_back(info.remote_peer, std::get<DialPlan>(decision));
  }
  auto body = encode(response);
  co_await write_length_prefixed(*stream, body);
  co_await stream->close_write();
}

awaitable<DialResponse> ReachabilityService::dial_back(const crypto::PeerId& peer, const DialPlan& plan) {
  auto self = shared_from_this();
  const auto end = Clock::now() + options_.dial_back_timeout;
  std::string errors;
  for (const auto& addr : plan.addrs) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0 || closed_) break;
    try {
      auto reached = co_await host_.probe_dial(addr, peer, left);
      policy_.dial_finished(true);
      log::module<"autonat">()->debug("dial-back to {} at {} succeeded", peer.to_string(), reached.to_string());
      co_return DialResponse{Status::ok, "", reached};
    } catch (const std::exception& e) {
      errors += std::string(errors.empty() ? "" : "; ") + addr.to_string() + ": " + e.what();
    }
  }
  policy_.dial_finished(false);
  log::module<"autonat">()->debug("dial-back to {} failed: {}", peer.to_string(), errors);
  co_return DialResponse{Status::dial_error, "dial failed", std::nullopt};
}

// ---------------------------------------------------------------- client

std::vector<Multiaddr> ReachabilityService::probe_addrs() const {
  std::vector<Multiaddr> out;
  for (const auto& addr : host_.advertised_addrs()) {
    if (out.size() >= kMaxAddrs) break;
    if (tcp_port_of(addr) && options_.classifier.is_public(addr)) out.push_back(addr);
  }
  return out;
}

awaitable<DialResponse> ReachabilityService::probe(std::shared_ptr<MuxedConnection> connection) {
  auto self = shared_from_this();
  const auto server = connection->info().remote_peer;
  ++client_counters_.probes_sent;
  last_asked_[server] = Clock::now();
  // Everything needed from the host is taken before the first suspension.
  auto executor = host_.executor();
  const DialRequest request{host_.peer_id(), probe_addrs()};
  const auto body = encode(request);
  std::optional<DialResponse> response;
  std::string failure;
  try {
    std::vector<std::string> protocols{std::string(kProtocol)};
    auto stream = co_await host_.open_stream(connection, protocols);
    MuxedStream* raw = stream.get();
    Deadline deadline(executor, options_.request_timeout, [raw] { raw->reset(); });
    co_await write_length_prefixed(*stream, body);
    auto answer = co_await read_length_prefixed(*stream, kMaxMessageSize);
    auto decoded = decode_dial_response(answer);
    if (decoded) {
      response = std::move(*decoded);
    } else {
      failure = decoded.error().message;
    }
    stream->close();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!response) {
    ++client_counters_.no_answer;
    log::module<"autonat">()->debug("autonat probe via {} got no answer: {}", server.to_string(), failure);
    tracker_.record(server, ProbeOutcome::no_evidence);
    throw ErrorException("autonat probe via " + server.to_string() + ": " + failure);
  }
  ++client_counters_.answered[status_index(response->status)];
  log::module<"autonat">()->debug("autonat probe via {}: {} {}", server.to_string(), to_string(response->status), response->status_text);
  if (tracker_.record(server, outcome_of(response->status))) notify();
  co_return *response;
}

void ReachabilityService::start_round() {
  const auto now = Clock::now();
  std::vector<std::shared_ptr<MuxedConnection>> candidates;
  std::unordered_set<crypto::PeerId> seen;
  for (auto& connection : host_.connections()) {
    const auto& peer = connection->info().remote_peer;
    if (connection->info().relayed || in_flight_.count(peer) || !seen.insert(peer).second) continue;
    if (auto it = last_asked_.find(peer); it != last_asked_.end() && now - it->second < options_.server_backoff) continue;
    if (supports_autonat(host_.peer_store().find(peer))) candidates.push_back(connection);
  }
  static thread_local std::minstd_rand rng(std::random_device{}());
  std::shuffle(candidates.begin(), candidates.end(), rng);
  if (candidates.size() > options_.probes_per_round) candidates.resize(options_.probes_per_round);
  auto self = shared_from_this();
  for (auto& connection : candidates) {
    const auto peer = connection->info().remote_peer;
    in_flight_.insert(peer);
    asio::co_spawn(host_.executor(), [self, connection, peer]() -> awaitable<void> {
      try {
        co_await self->probe(connection);
      } catch (const std::exception&) {
        // Counted and logged by probe().
      }
      self->in_flight_.erase(peer);
    }, asio::detached);
  }
  // Forget servers asked long ago (bounds the map by the connections of one backoff period).
  std::erase_if(last_asked_, [&](const auto& entry) { return now - entry.second >= options_.server_backoff; });
}

awaitable<void> ReachabilityService::run() {
  std::weak_ptr<ReachabilityService> weak = shared_from_this();
  auto delay = options_.first_round_delay;
  for (;;) {
    {
      auto self = weak.lock();
      if (!self || closed_) co_return;
      if (!wake_) timer_.expires_after(delay);
    }
    boost::system::error_code ec;
    if (!wake_) co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    auto self = weak.lock();
    if (!self || closed_) co_return;
    wake_ = false;
    start_round();
    delay = tracker_.confident() ? options_.refresh_interval : options_.retry_interval;
  }
}

void ReachabilityService::probe_soon() {
  if (closed_ || !options_.probe) return;
  wake_ = true;
  timer_.cancel();
}

void ReachabilityService::close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
}

// ---------------------------------------------------------------- NAT classification

void ReachabilityService::observed(const MuxedConnection& connection, const Multiaddr& observed) {
  const auto& info = connection.info();
  // A new peer that may answer our probes: while unsure, ask it soon.
  if (!tracker_.confident() && supports_autonat(host_.peer_store().find(info.remote_peer))) probe_soon();
  auto observer_ip = ip_of(info.remote_addr);
  // A peer on our own network (or loopback, unless treated as public) sees our private address.
  if (info.relayed || !observer_ip || !options_.classifier.is_public(*observer_ip)) return;
  const auto local_port = tcp_port_of(info.local_addr);
  bool from_listen_port = !info.outbound;  // inbound connections arrive at a listen port
  for (const auto& listen : host_.listen_addrs())
    if (local_port && tcp_port_of(listen) == local_port) from_listen_port = true;
  const auto before = nat_.kind();
  nat_.add(Observation{info.remote_peer, *observer_ip, observed.without_peer_id(), info.local_addr, from_listen_port});
  if (nat_.kind() != before) notify();
}

}  // namespace stargate::p2p::autonat
