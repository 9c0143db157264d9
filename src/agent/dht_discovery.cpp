#include "agent/dht_discovery.hpp"

#include "agent/dht_registry.hpp"
#include "agent/agent_log.hpp"
#include "crypto/peer_id.hpp"
#include "base/signal_io.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stargate::agent {

namespace asio = boost::asio;
using asio::awaitable;

DhtDiscovery::DhtDiscovery(asio::any_io_executor executor, std::shared_ptr<P2pEndpoint> endpoint, AnnouncementIntake& intake,
                           AnnouncementSigner sign, std::string own_agent_id, DhtDiscoveryOptions options)
    : executor_(executor),
      endpoint_(std::move(endpoint)),
      intake_(intake),
      sign_(std::move(sign)),
      own_agent_id_(std::move(own_agent_id)),
      options_(std::move(options)),
      timer_(executor) {}

DhtDiscovery::~DhtDiscovery() = default;

void DhtDiscovery::start(std::function<void()> joined) {
  asio::co_spawn(executor_, run(std::move(joined)), asio::detached);
}

void DhtDiscovery::refresh() { timer_.cancel(); }

void DhtDiscovery::close() {
  closed_ = true;
  timer_.cancel();
}

// Joins, publishes, and publishes again every republish interval (sooner after refresh(), or after
// a round that no peer stored).
awaitable<void> DhtDiscovery::run(std::function<void()> joined) {
  std::weak_ptr<DhtDiscovery> weak = shared_from_this();
  if (!co_await join(weak)) co_return;
  if (auto self = weak.lock(); self && joined && !closed_) joined();
  for (;;) {
    {
      auto self = weak.lock();
      if (!self || closed_) co_return;
      const bool stored = co_await publish_records();
      // No relay list: find relays in the DHT, for AutoRelay to reserve on when we are private.
      // After publishing, not before: dialing dead relays (10 s each) must not delay that; a
      // reservation made afterwards changes our addresses, which republishes within seconds.
      if (options_.find_relays && !closed_) {
        try {
          co_await endpoint_->connect_relays_from_dht(provider_key(kRelayProviderName));
        } catch (const std::exception& e) {
          logger()->debug("looking for relays in the DHT failed: {}", e.what());
        }
      }
      if (closed_) co_return;
      // A round no peer stored (our neighbours were all gone) is tried again soon, not in half an hour.
      timer_.expires_after(stored ? options_.republish_interval : std::min(options_.republish_interval, options_.retry_unstored));
    }
    // Waits without holding itself: a node destroyed meanwhile cancels the timer, and the loop ends.
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    auto self = weak.lock();
    if (!self || closed_) co_return;
    if (ec == asio::error::operation_aborted) {
      // Our addresses changed: let a burst of changes settle first.
      timer_.expires_after(std::chrono::seconds(2));
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
}

// Bootstraps until the routing table holds a peer: bootstrap peers that are down when we start
// (a relay restarting, the network not up yet) are asked again after 1 s, 2 s, 4 s, ... up to
// bootstrap_backoff_max. A node given no bootstrap peers (the first of a network) goes on at once:
// its table fills as others join through it. False when closed meanwhile.
awaitable<bool> DhtDiscovery::join(std::weak_ptr<DhtDiscovery> weak) {
  auto backoff = std::chrono::seconds(1);
  for (;;) {
    {
      auto self = weak.lock();
      if (!self || closed_ || !dht()) co_return false;
      std::size_t answered = 0;
      try {
        answered = co_await dht()->bootstrap();
      } catch (const std::exception& e) {
        logger()->warn("DHT bootstrap failed: {}", e.what());
      }
      if (closed_) co_return false;
      const auto known = dht()->routing_table().size();
      if (known > 0 || !dht()->has_bootstrap_peers()) {
        logger()->info("joined the DHT through {} bootstrap peer(s); {} peers in the routing table", answered, known);
        co_return true;
      }
      logger()->warn("no DHT bootstrap peer answered; asking again in {} s", backoff.count());
      timer_.expires_after(backoff);
      backoff = std::min(backoff * 2, options_.bootstrap_backoff_max);
    }
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

// Our announcement as a record (valid for an hour) and a provider record per capability. True when
// at least one peer stored something; only such a round counts as a publish.
awaitable<bool> DhtDiscovery::publish_records() {
  auto* table = dht();
  if (!table || closed_) co_return false;
  const auto wire = sign_(AnnouncementKind::announce, kDhtAnnouncementTtl);
  if (!wire) co_return false;
  // The announcement and each capability are published at once: each is a lookup of its own, and
  // one after the other a round took as long as all of them together.
  struct Round {
    std::size_t pending = 0;
    std::size_t stored = 0;
    Signal done;
  };
  auto round = std::make_shared<Round>(Round{1 + options_.capabilities.size(), 0, Signal(executor_)});
  auto finished = [round](const char* what, std::exception_ptr failure, std::size_t stored) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        logger()->warn("publishing {} to the DHT failed: {}", what, e.what());
      }
    } else {
      logger()->debug("{} stored on {} DHT peers", what, stored);
      round->stored += stored;
    }
    if (--round->pending == 0) round->done.notify_all();
  };
  Bytes record(wire->begin(), wire->end());
  asio::co_spawn(executor_, table->put_value(announcement_record_key(own_agent_id_), std::move(record)),
                 [finished](std::exception_ptr e, std::size_t n) { finished("announcement", e, n); });
  for (const auto& capability : options_.capabilities) {
    asio::co_spawn(executor_, table->provide(capability_key(capability)),
                   [finished](std::exception_ptr e, std::size_t n) { finished("capability provider record", e, n); });
  }
  while (round->pending > 0) co_await round->done.wait();
  if (round->stored == 0) {
    // Expected while we are the network's first node (nobody to store on); a warning otherwise.
    const auto level = table->routing_table().size() == 0 ? spdlog::level::debug : spdlog::level::warn;
    logger()->log(level, "no DHT peer stored our records; publishing again in {} s", options_.retry_unstored.count());
    co_return false;
  }
  ++publishes_;
  last_published_ = std::chrono::system_clock::now();
  co_return true;
}

// Fetches an agent's announcement into the directory; false when none is found.
awaitable<bool> DhtDiscovery::fetch_announcement(std::string agent_id) {
  auto* table = dht();
  if (!table || agent_id == own_agent_id_) co_return false;
  auto self = shared_from_this();
  auto found = co_await table->get_value(announcement_record_key(agent_id));
  if (!found.value) co_return false;
  co_return intake_.receive_stored(std::string(found.value->begin(), found.value->end()));
}

// The agents the DHT says offer `capability`, fetched into the directory.
awaitable<void> DhtDiscovery::discover(const std::optional<std::string>& capability) {
  auto* table = dht();
  if (!table || !capability) co_return;
  auto self = shared_from_this();
  auto found = co_await table->find_providers(capability_key(*capability), 20);
  for (const auto& provider : found.providers) {
    auto key = provider.id.public_key();
    if (!key) continue;
    const auto provider_agent = crypto::agent_id(*key);
    if (provider_agent == own_agent_id_ || intake_.directory().find(provider_agent)) continue;
    try {
      co_await fetch_announcement(provider_agent);
    } catch (const std::exception& e) {
      logger()->debug("announcement of {} not fetched: {}", provider_agent, e.what());
    }
  }
}

// Not announced elsewhere: the DHT may hold its announcement, by agent ID or PeerId (a display
// name cannot be looked up).
awaitable<void> DhtDiscovery::find(const std::string& who) {
  if (!dht()) co_return;
  std::string wanted;
  if (crypto::looks_like_agent_id(who)) {
    wanted = who;
  } else if (auto id = crypto::PeerId::parse(who); id && who.size() <= 128) {
    if (auto key = id->public_key()) wanted = crypto::agent_id(*key);
  }
  if (!wanted.empty()) co_await fetch_announcement(wanted);
}

}  // namespace stargate::agent
