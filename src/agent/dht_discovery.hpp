#pragma once
// Discovery through the Kademlia DHT (docs/dht.md): our signed announcement as a record under
// /stargate/<agent id> and a provider record per capability, published after joining and again
// every republish interval (sooner when our addresses change); discover(capability) asks for the
// providers and fetches their announcements; find(agent) fetches one announcement. A node without
// configured relays also finds relays here.
#include "agent/announcement_intake.hpp"
#include "agent/discovery_source.hpp"
#include "agent/p2p_endpoint.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace stargate::agent {

struct DhtDiscoveryOptions {
  std::vector<std::string> capabilities;
  std::chrono::seconds republish_interval{1800};
  std::chrono::seconds retry_unstored{30};           // after a round no peer stored
  std::chrono::seconds bootstrap_backoff_max{60};    // bootstrap retries: 1 s, 2 s, ... up to this
  bool find_relays = false;  // no configured relays: look for providers of stargate/relay
};

class DhtDiscovery final : public DiscoverySource, public std::enable_shared_from_this<DhtDiscovery> {
 public:
  DhtDiscovery(boost::asio::any_io_executor executor, std::shared_ptr<P2pEndpoint> endpoint, AnnouncementIntake& intake,
               AnnouncementSigner sign, std::string own_agent_id, DhtDiscoveryOptions options);
  ~DhtDiscovery() override;

  // Joins through the bootstrap peers (asking again with back-off while none answers), calls
  // `joined` (the node announces everywhere: we just met people), then publishes on schedule until
  // closed.
  void start(std::function<void()> joined);
  // Publishes again soon: our addresses changed, and the stored announcement must say where we are.
  void refresh();

  std::string_view name() const override { return "dht"; }
  void publish(const std::string&) override {}  // the records are published on their own schedule
  boost::asio::awaitable<void> discover(const std::optional<std::string>& capability) override;
  boost::asio::awaitable<void> find(const std::string& who) override;
  boost::asio::awaitable<void> leave(const std::string&, std::chrono::milliseconds) override { co_return; }
  void close() override;

  // Rounds that at least one peer stored.
  std::uint64_t publishes() const { return publishes_; }
  std::chrono::system_clock::time_point last_published() const { return last_published_; }

 private:
  boost::asio::awaitable<void> run(std::function<void()> joined);
  boost::asio::awaitable<bool> join(std::weak_ptr<DhtDiscovery> weak);
  boost::asio::awaitable<bool> publish_records();
  boost::asio::awaitable<bool> fetch_announcement(std::string agent_id);
  p2p::kad::Dht* dht() const { return endpoint_->dht(); }

  boost::asio::any_io_executor executor_;
  std::shared_ptr<P2pEndpoint> endpoint_;
  AnnouncementIntake& intake_;
  AnnouncementSigner sign_;
  std::string own_agent_id_;
  DhtDiscoveryOptions options_;
  boost::asio::steady_timer timer_;
  bool closed_ = false;
  std::uint64_t publishes_ = 0;
  std::chrono::system_clock::time_point last_published_{};
};

}  // namespace stargate::agent
