#pragma once
// Discovery over gossipsub (/meshsub/1.1.0): signed announcements on the traylinx.announce topic,
// the same document as over NATS. Nothing to ask: announcements arrive as agents publish them.
#include "agent/announcement_intake.hpp"
#include "agent/discovery_source.hpp"
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"

#include <memory>

namespace stargate::agent {

class GossipDiscovery final : public DiscoverySource, public std::enable_shared_from_this<GossipDiscovery> {
 public:
  GossipDiscovery(boost::asio::any_io_executor executor, std::shared_ptr<p2p::gossipsub::GossipsubService> pubsub,
                  AnnouncementIntake& intake);
  void start();

  std::string_view name() const override { return "gossipsub"; }
  void publish(const std::string& announcement) override;
  boost::asio::awaitable<void> discover(const std::optional<std::string>&) override { co_return; }
  boost::asio::awaitable<void> find(const std::string&) override { co_return; }
  // Publishes the leave and waits (within `limit`) until it is written to the mesh.
  boost::asio::awaitable<void> leave(const std::string& announcement, std::chrono::milliseconds limit) override;
  void close() override { closed_ = true; }

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<p2p::gossipsub::GossipsubService> pubsub_;
  AnnouncementIntake& intake_;
  bool closed_ = false;
};

}  // namespace stargate::agent
