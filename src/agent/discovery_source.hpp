#pragma once
// One way agents learn about each other: NATS announcements (nats_discovery), gossipsub
// (gossip_discovery), the Kademlia DHT (dht_discovery); mDNS will be one more. Each delivers the
// signed announcements it receives to the AnnouncementIntake, which fills the one peer directory,
// and each carries ours to those who listen there. The node asks every source in turn; a source
// that cannot help with a request does nothing.
#include "agent/announcement.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::agent {

// Our announcement, signed now, of `kind`, valid for `ttl` (none: NodeOptions::announce_ttl);
// nullopt while the node has nothing to announce (not started yet, stopping, or client-only).
using AnnouncementSigner =
    std::function<std::optional<std::string>(AnnouncementKind kind, std::optional<std::chrono::seconds> ttl)>;

class DiscoverySource {
 public:
  virtual ~DiscoverySource() = default;
  virtual std::string_view name() const = 0;
  // Carries our signed announcement to those who listen here; best effort (nothing when down).
  virtual void publish(const std::string& announcement) = 0;
  // Asks who is there (with a capability: who offers it); the answers have reached the intake
  // when this returns.
  virtual boost::asio::awaitable<void> discover(const std::optional<std::string>& capability) = 0;
  // Looks for one agent the directory lacks, named by agent ID, PeerId or display name.
  virtual boost::asio::awaitable<void> find(const std::string& who) = 0;
  // Our leave announcement, delivered within `limit` if it can be.
  virtual boost::asio::awaitable<void> leave(const std::string& announcement, std::chrono::milliseconds limit) = 0;
  // Stops listening and publishing.
  virtual void close() = 0;
};

}  // namespace stargate::agent
