#include "p2p/protocols/relay/relay_monitor_io.hpp"

#include "base/deadline_io.hpp"
#include "base/log.hpp"
#include "p2p/protocols/ping/ping_io.hpp"

#include <algorithm>

namespace stargate::p2p::relay {
namespace {

std::vector<crypto::PeerId> ids_of(const std::vector<std::pair<crypto::PeerId, Multiaddr>>& relays) {
  std::vector<crypto::PeerId> out;
  for (const auto& [id, addr] : relays) out.push_back(id);
  return out;
}

RelayHealthPolicy policy_of(const RelayMonitorOptions& options) {
  RelayHealthPolicy policy;
  policy.failures_before_unhealthy = options.failures_before_unhealthy;
  policy.reservations = std::max<std::size_t>(options.reservations, 1);
  return policy;
}

}  // namespace

std::shared_ptr<RelayMonitor> RelayMonitor::start(Host& host, std::shared_ptr<RelayClient> client,
                                                  const std::vector<Multiaddr>& relays, RelayMonitorOptions options) {
  std::vector<std::pair<crypto::PeerId, Multiaddr>> parsed;
  for (const auto& addr : relays) {
    auto bytes = addr.peer_id_bytes();
    auto id = bytes ? crypto::PeerId::from_bytes(*bytes) : crypto::PeerId::from_bytes({});
    if (!id) throw ErrorException("relay address needs /p2p/<relay id>: " + addr.to_string());
    if (*id == host.peer_id()) throw ErrorException("a node cannot reserve on itself");
    if (std::none_of(parsed.begin(), parsed.end(), [&](const auto& p) { return p.first == *id; }))
      parsed.emplace_back(*id, addr);
  }
  auto monitor = std::make_shared<RelayMonitor>(host, std::move(client), std::move(parsed), options);
  std::weak_ptr<RelayMonitor> weak = monitor;
  monitor->client_->on_reservation_lost([weak](const crypto::PeerId& relay) {
    if (auto self = weak.lock()) self->probe_soon(relay);
  });
  monitor->follow_preference();
  for (const auto& [relay, addr] : monitor->addrs_) asio::co_spawn(host.executor(), monitor->watch(relay), asio::detached);
  return monitor;
}

RelayMonitor::RelayMonitor(Host& host, std::shared_ptr<RelayClient> client,
                           std::vector<std::pair<crypto::PeerId, Multiaddr>> relays, RelayMonitorOptions options)
    : host_(host), client_(std::move(client)), table_(ids_of(relays), policy_of(options)), options_(options) {
  for (auto& [id, addr] : relays) {
    wakes_.emplace(id, std::make_shared<asio::steady_timer>(host.executor()));
    addrs_.emplace(id, std::move(addr));
  }
}

RelayMonitor::~RelayMonitor() { close(); }

void RelayMonitor::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [relay, wake] : wakes_) wake->cancel();
}

void RelayMonitor::probe_soon(const crypto::PeerId& relay) {
  if (auto it = wakes_.find(relay); it != wakes_.end() && !closed_) it->second->cancel();
}

std::vector<RelayStatus> RelayMonitor::relays() const {
  std::vector<RelayStatus> out;
  for (const auto& record : table_.records()) {
    RelayStatus status;
    status.health = record;
    status.addr = addrs_.at(record.relay);
    status.reserving = std::find(reserving_.begin(), reserving_.end(), record.relay) != reserving_.end();
    out.push_back(std::move(status));
  }
  return out;
}

void RelayMonitor::follow_preference() {
  auto wanted = table_.preferred();
  for (const auto& relay : reserving_) {
    if (std::find(wanted.begin(), wanted.end(), relay) == wanted.end()) {
      log::module<"relay">()->info("releasing the reservation on relay {}", relay.to_string());
      client_->drop_relay(relay);
    }
  }
  for (const auto& relay : wanted) {
    if (std::find(reserving_.begin(), reserving_.end(), relay) == reserving_.end()) {
      log::module<"relay">()->info("reserving on relay {}", relay.to_string());
      client_->add_relay(addrs_.at(relay));
    } else {
      client_->retry_now(relay);  // back from an outage: no need to wait out the backoff
    }
  }
  reserving_ = std::move(wanted);
  std::vector<crypto::PeerId> preference;
  for (const auto& record : table_.records()) preference.push_back(record.relay);
  client_->set_order(preference);
}

awaitable<Clock::duration> RelayMonitor::probe(const Multiaddr& addr) {
  auto connection = co_await host_.connect(addr);
  if (connection->info().relayed) throw ErrorException("no direct connection to the relay");
  std::vector<std::string> protocols{ping::protocol_id};
  auto stream = co_await host_.open_stream(connection, protocols);
  MuxedStream* raw = stream.get();
  Deadline deadline(host_.executor(), options_.probe_timeout, [raw] { raw->reset(); });
  auto rtt = co_await ping::round_trip(*stream);
  deadline.cancel();
  stream->close();
  co_return rtt;
}

awaitable<void> RelayMonitor::watch(crypto::PeerId relay) {
  std::weak_ptr<RelayMonitor> weak = shared_from_this();
  const Multiaddr addr = addrs_.at(relay);
  const auto wake = wakes_.at(relay);
  for (;;) {
    std::string failure;
    Clock::duration rtt{};
    {
      auto self = weak.lock();
      if (!self || self->closed_) co_return;
      try {
        rtt = co_await self->probe(addr);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (self->closed_) co_return;
      const bool changed = failure.empty() ? self->table_.record_success(relay, rtt)
                                           : self->table_.record_failure(relay, failure);
      if (changed) {
        const auto state = self->table_.find(relay)->state;
        if (state == RelayHealthState::unhealthy) {
          log::module<"relay">()->warn("relay {} is unhealthy: {}", relay.to_string(), failure);
          // A relay that stopped answering may still hold a half-open connection: let it go, so
          // that the reservation on it is known to be lost.
          if (auto c = self->host_.find_connection(relay); c && !c->info().relayed) c->close();
        } else {
          log::module<"relay">()->info("relay {} is {}", relay.to_string(), to_string(state));
        }
        self->follow_preference();
        if (self->change_hook_) self->change_hook_();
      }
      wake->expires_after(self->table_.suspect(relay) ? self->options_.retry_interval : self->options_.interval);
    }
    boost::system::error_code ec;
    co_await wake->async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

}  // namespace stargate::p2p::relay
