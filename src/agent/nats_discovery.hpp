#pragma once
// Discovery over the NATS broker: signed announcements on traylinx.announce, and discovery queries
// on traylinx.discovery, answered by every serving agent with its announcement to the asker's
// inbox. After a broker restart everyone may have forgotten us: we announce again on reconnect.
#include "agent/announcement_intake.hpp"
#include "agent/discovery_source.hpp"
#include "nats/client.hpp"

#include <memory>

namespace stargate::agent {

class NatsDiscovery final : public DiscoverySource, public std::enable_shared_from_this<NatsDiscovery> {
 public:
  // `window`: how long a query collects answers.
  NatsDiscovery(boost::asio::any_io_executor executor, std::shared_ptr<nats::Client> client, AnnouncementIntake& intake,
                AnnouncementSigner sign, std::chrono::milliseconds window);
  ~NatsDiscovery() override;

  // Subscribes; with `serve`, answers discovery queries too.
  void start(bool serve);

  std::string_view name() const override { return "nats"; }
  void publish(const std::string& announcement) override;
  // A query to every agent online; waits the window. The capability is not asked for: the answers
  // are announcements, which carry the capabilities.
  boost::asio::awaitable<void> discover(const std::optional<std::string>& capability) override;
  boost::asio::awaitable<void> find(const std::string& who) override;
  boost::asio::awaitable<void> leave(const std::string& announcement, std::chrono::milliseconds limit) override;
  void close() override;

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<nats::Client> client_;
  AnnouncementIntake& intake_;
  AnnouncementSigner sign_;
  std::chrono::milliseconds window_;
  std::string inbox_;
  std::vector<nats::Subscription> subscriptions_;
  bool up() const { return client_ && client_->is_connected(); }
};

}  // namespace stargate::agent
