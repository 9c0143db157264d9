#pragma once
// Where every discovery source delivers the signed announcements it receives (NATS, gossipsub, an
// answer to a discovery query, a DHT record): verified, limited per announcing agent (its rate,
// back-off for agents that keep flooding), applied to the peer directory, refusals counted by
// reason. The same document, the same checks and limits, whichever way it came.
#include "agent/announcement.hpp"
#include "agent/rejections.hpp"
#include "base/offenders.hpp"
#include "base/token_bucket.hpp"
#include "stargate/node.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace stargate::agent {

UnixMillis unix_ms();

class AnnouncementIntake {
 public:
  AnnouncementIntake(PeerDirectory& directory, const NodeOptions::RateLimits& limits, Rejections& rejections);

  // Our own agent ID: our echo is neither limited nor counted.
  void set_own_agent_id(std::string agent_id) { own_agent_id_ = std::move(agent_id); }
  // Called when an agent is put in back-off for announcing too often: the node disconnects it.
  void on_backoff(std::function<void(const crypto::PeerId&)> hook) { on_backoff_ = std::move(hook); }

  // A live announcement (NATS, gossipsub, an answer to discovery).
  void receive(std::string_view wire);
  // One kept in storage (a DHT record): valid for its whole TTL, not rate limited. True when the
  // directory holds it (or a newer one) now.
  bool receive_stored(std::string wire);

  bool backed_off(const std::string& agent_id, std::chrono::steady_clock::time_point now) const;
  std::uint64_t peers_backed_off() const { return peers_backed_off_; }
  PeerDirectory& directory() { return directory_; }

 private:
  bool admit(const Announcement& announcement);
  void refuse(const AnnouncementRejection& rejection);

  PeerDirectory& directory_;
  NodeOptions::RateLimits limits_;
  Rejections& rejections_;
  std::string own_agent_id_;
  RateLimiter<std::string> limiter_;
  OffenderTracker offenders_;
  std::function<void(const crypto::PeerId&)> on_backoff_;
  std::uint64_t peers_backed_off_ = 0;
};

}  // namespace stargate::agent
