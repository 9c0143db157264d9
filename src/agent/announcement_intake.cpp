#include "agent/announcement_intake.hpp"

#include "agent/dht_registry.hpp"
#include "agent/inbound_dispatcher.hpp"
#include "agent/agent_log.hpp"

namespace stargate::agent {

UnixMillis unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

AnnouncementIntake::AnnouncementIntake(PeerDirectory& directory, const NodeOptions::RateLimits& limits,
                                       Rejections& rejections)
    : directory_(directory),
      limits_(limits),
      rejections_(rejections),
      limiter_(RateLimit{limits.announcements_per_second, limits.announcements_burst}),
      offenders_(offender_config(limits)) {}

void AnnouncementIntake::receive(std::string_view wire) {
  const auto now = unix_ms();
  auto verified = verify_announcement(wire, now, directory_.config().policy);
  if (!verified) return refuse(verified.error());
  // Limits apply to what the signature proves: an agent ID from an unverified document could be
  // anyone's, and a forger must not spend another agent's tokens. Our own echo is not limited.
  if (verified->agent_id != own_agent_id_ && !admit(*verified)) return;
  auto change = directory_.apply(std::move(*verified), now, std::string(wire));
  if (!change) refuse(change.error());
}

bool AnnouncementIntake::receive_stored(std::string wire) {
  auto announcement = verify_announcement(wire, unix_ms(), stored_announcement_policy());
  if (!announcement) return false;
  auto applied = directory_.apply(std::move(*announcement), unix_ms(), std::move(wire));
  return applied || applied.error().reason == AnnouncementError::duplicate ||
         applied.error().reason == AnnouncementError::replay;
}

bool AnnouncementIntake::backed_off(const std::string& agent_id, std::chrono::steady_clock::time_point now) const {
  return offenders_.backed_off(agent_id, now);
}

// Counted by reason (announcement_bad_signature, announcement_from_future, …: a bounded label).
void AnnouncementIntake::refuse(const AnnouncementRejection& rejection) {
  // A duplicate is our own echo or a repeated answer, and one older than the announcement held (a
  // "replay") is routine too: announcements travel over NATS and gossipsub (and answers to
  // discovery), so copies arrive twice and out of order. Neither is worth counting as hostile;
  // both are dropped.
  if (rejection.reason != AnnouncementError::duplicate && rejection.reason != AnnouncementError::replay)
    rejections_.count("announcement_" + std::string(to_string(rejection.reason)));
  logger()->debug("{}", rejection.to_string());
}

// False (counted) when the agent is in back-off or over its announcement rate.
bool AnnouncementIntake::admit(const Announcement& a) {
  const auto now = std::chrono::steady_clock::now();
  if (offenders_.backed_off(a.agent_id, now)) {
    rejections_.count("announcement_backoff");
    return false;
  }
  if (limiter_.check(a.agent_id, now)) return true;
  rejections_.count("announcement_rate_limited");
  if (offenders_.strike(a.agent_id, now)) {
    ++peers_backed_off_;
    logger()->info("agent {} keeps announcing too often: ignored and disconnected for {} ms", a.agent_id,
                   limits_.backoff.count());
    if (on_backoff_) on_backoff_(a.peer_id);
  }
  return false;
}

}  // namespace stargate::agent
