#include "agent/gossip_discovery.hpp"

#include "agent/bounded_wait.hpp"
#include "agent/agent_log.hpp"

namespace stargate::agent {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

awaitable<void> drain_gossip(std::shared_ptr<p2p::gossipsub::GossipsubService> pubsub, std::chrono::milliseconds limit) {
  co_await pubsub->drain(limit);
}

}  // namespace

GossipDiscovery::GossipDiscovery(asio::any_io_executor executor, std::shared_ptr<p2p::gossipsub::GossipsubService> pubsub,
                                 AnnouncementIntake& intake)
    : executor_(std::move(executor)), pubsub_(std::move(pubsub)), intake_(intake) {}

void GossipDiscovery::start() {
  std::weak_ptr<GossipDiscovery> weak = shared_from_this();
  pubsub_->subscribe(std::string(kAnnounceSubject), [weak](const p2p::gossipsub::Message& message) {
    if (auto self = weak.lock(); self && !self->closed_)
      self->intake_.receive(std::string_view(reinterpret_cast<const char*>(message.data.data()), message.data.size()));
  });
}

void GossipDiscovery::publish(const std::string& announcement) {
  if (closed_) return;
  // No subscribed peer yet is not an error: the next refresh reaches those who join.
  if (auto published = pubsub_->publish(std::string(kAnnounceSubject), Bytes(announcement.begin(), announcement.end()));
      !published)
    logger()->debug("announcement not gossiped: {}", published.error().message);
}

awaitable<void> GossipDiscovery::leave(const std::string& announcement, std::chrono::milliseconds limit) {
  (void)pubsub_->publish(std::string(kAnnounceSubject), Bytes(announcement.begin(), announcement.end()));
  if (limit.count() > 0) co_await finish_within(executor_, limit, drain_gossip(pubsub_, limit), "gossipsub goodbye");
}

}  // namespace stargate::agent
