// The announcement intake (agent/announcement_intake.hpp): what every discovery source hands its
// signed announcements to. Verified, limited per announcing agent (rate, then back-off), applied to
// the peer directory, refusals counted by the reason the code gives; stored ones (DHT records)
// valid for their whole TTL and not limited. The intake reads the wall clock, so announcements are
// signed relative to unix_ms() and the limits are set so low that no token refills during a test.
#include "agent/announcement_intake.hpp"
#include "agent/dht_registry.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/x25519.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;

struct Agent {
  crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::generate();
  std::string agent_id = crypto::agent_id(key.public_key());
  crypto::PeerId peer_id = crypto::PeerId::from_public_key(key.public_key());
  std::string name;

  explicit Agent(std::string n) : name(std::move(n)) {}

  // A signed announcement made at `at` (a fresh random nonce each time).
  std::string announce(UnixMillis at, std::chrono::seconds ttl = 300s) const {
    AnnouncementInfo info;
    info.name = name;
    info.capabilities = {"search"};
    info.software = "stargate/0.1.0";
    info.x25519_key = crypto::X25519PrivateKey::generate().public_key();
    info.ttl = ttl;
    auto wire = sign_announcement(key, info, at);
    EXPECT_TRUE(wire.has_value()) << (wire ? "" : wire.error().message);
    return wire ? *wire : std::string();
  }
};

// Changes one character of `wire` at the first occurrence of `from`.
std::string tamper(std::string wire, std::string_view from, char to) {
  auto at = wire.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) wire[at] = to;
  return wire;
}

class AnnouncementIntakeTest : public ::testing::Test {
 protected:
  PeerDirectory directory;
  Rejections rejections;
  NodeOptions::RateLimits limits;
  std::optional<AnnouncementIntake> intake;
  std::vector<crypto::PeerId> backed_off;
  Agent alice{"alice"}, bob{"bob"};

  // Built after the test has set `limits`.
  AnnouncementIntake& make() {
    intake.emplace(directory, limits, rejections);
    intake->on_backoff([this](const crypto::PeerId& peer) { backed_off.push_back(peer); });
    return *intake;
  }

  // One announcement allowed, then none for 100 s; back-off at the third refusal.
  void tight_limits() {
    limits.announcements_per_second = 0.01;
    limits.announcements_burst = 1;
    limits.strikes_before_backoff = 3;
  }

  std::uint64_t rejected(const std::string& reason) const {
    auto it = rejections.by_reason.find(reason);
    return it == rejections.by_reason.end() ? 0 : it->second;
  }

  UnixMillis timestamp_of(const Agent& agent) const {
    const auto* entry = directory.find(agent.agent_id);
    return entry ? entry->announcement.timestamp : -1;
  }
};

TEST_F(AnnouncementIntakeTest, ValidAnnouncementLandsInTheDirectory) {
  auto& in = make();
  const auto wire = alice.announce(unix_ms());
  in.receive(wire);
  const auto* entry = directory.find(alice.agent_id);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->announcement.name, "alice");
  EXPECT_EQ(entry->announcement.peer_id, alice.peer_id);
  EXPECT_EQ(entry->wire, wire);
  EXPECT_EQ(rejections.total, 0u);
  EXPECT_EQ(&in.directory(), &directory);
}

TEST_F(AnnouncementIntakeTest, ForgedAnnouncementIsRefusedAndCounted) {
  tight_limits();
  auto& in = make();
  const auto wire = alice.announce(unix_ms());
  // The document's name changed ("alice" -> "flice"), then its signature changed.
  in.receive(tamper(wire, "alice", 'f'));
  const auto sig = wire.find("\"sig\":\"");
  ASSERT_NE(sig, std::string::npos);
  auto bad_sig = wire;
  bad_sig[sig + 7] = bad_sig[sig + 7] == '0' ? '1' : '0';
  in.receive(bad_sig);
  EXPECT_EQ(directory.find(alice.agent_id), nullptr);
  EXPECT_EQ(rejected("announcement_bad_signature"), 2u);
  EXPECT_EQ(rejections.total, 2u);
  // The forgeries spent none of Alice's single token: her own announcement still lands.
  in.receive(wire);
  EXPECT_NE(directory.find(alice.agent_id), nullptr);
  EXPECT_EQ(rejected("announcement_rate_limited"), 0u);
  EXPECT_TRUE(backed_off.empty());
}

TEST_F(AnnouncementIntakeTest, DuplicatesAndReplaysAreDroppedUncounted) {
  auto& in = make();
  const auto now = unix_ms();
  const auto older = alice.announce(now), newer = alice.announce(now + 1000);
  in.receive(older);
  in.receive(older);  // the same copy again (our echo, a second path)
  EXPECT_EQ(timestamp_of(alice), now);
  in.receive(newer);
  in.receive(older);  // arrives late, after a newer one
  EXPECT_EQ(timestamp_of(alice), now + 1000);
  EXPECT_EQ(directory.size(), 1u);
  EXPECT_EQ(rejections.total, 0u);
}

TEST_F(AnnouncementIntakeTest, FloodIsRateLimitedThenBackedOff) {
  tight_limits();
  auto& in = make();
  const auto now = unix_ms();
  in.receive(alice.announce(now));
  ASSERT_EQ(timestamp_of(alice), now);
  for (int i = 1; i <= 2; ++i) in.receive(alice.announce(now + i));
  EXPECT_EQ(rejected("announcement_rate_limited"), 2u);
  EXPECT_TRUE(backed_off.empty()) << "two strikes of three";
  EXPECT_FALSE(in.backed_off(alice.agent_id, std::chrono::steady_clock::now()));

  in.receive(alice.announce(now + 3));
  EXPECT_EQ(rejected("announcement_rate_limited"), 3u);
  ASSERT_EQ(backed_off.size(), 1u);
  EXPECT_EQ(backed_off[0], alice.peer_id);
  EXPECT_TRUE(in.backed_off(alice.agent_id, std::chrono::steady_clock::now()));
  EXPECT_EQ(in.peers_backed_off(), 1u);

  in.receive(alice.announce(now + 4));
  EXPECT_EQ(rejected("announcement_backoff"), 1u);
  EXPECT_EQ(rejected("announcement_rate_limited"), 3u);
  EXPECT_EQ(backed_off.size(), 1u);
  EXPECT_EQ(timestamp_of(alice), now) << "nothing after the first was applied";

  // Bob has his own bucket.
  in.receive(bob.announce(now));
  EXPECT_EQ(timestamp_of(bob), now);
  EXPECT_EQ(rejections.total, 4u);
}

TEST_F(AnnouncementIntakeTest, OwnAnnouncementsAreNeverLimited) {
  tight_limits();
  auto& in = make();
  in.set_own_agent_id(alice.agent_id);
  const auto now = unix_ms();
  for (int i = 0; i < 5; ++i) in.receive(alice.announce(now + i));
  EXPECT_EQ(timestamp_of(alice), now + 4);
  EXPECT_EQ(rejections.total, 0u);
  EXPECT_TRUE(backed_off.empty());
  EXPECT_FALSE(in.backed_off(alice.agent_id, std::chrono::steady_clock::now()));
  // The limits are in force for everyone else.
  in.receive(bob.announce(now));
  in.receive(bob.announce(now + 1));
  EXPECT_EQ(rejected("announcement_rate_limited"), 1u);
  EXPECT_EQ(timestamp_of(bob), now);
}

TEST_F(AnnouncementIntakeTest, StoredAnnouncementIsValidForItsWholeTtl) {
  auto& in = make();
  const auto now = unix_ms();
  // Ten minutes old with a TTL of thirty: beyond the live clock-skew tolerance, within its TTL.
  const auto old = alice.announce(now - 10 * 60 * 1000, 30min);
  auto live = verify_announcement(old, now, directory.config().policy);
  ASSERT_FALSE(live.has_value());
  EXPECT_EQ(live.error().reason, AnnouncementError::stale);
  in.receive(old);
  EXPECT_EQ(directory.find(alice.agent_id), nullptr);
  EXPECT_EQ(rejected("announcement_stale"), 1u);

  EXPECT_TRUE(in.receive_stored(old));
  EXPECT_EQ(timestamp_of(alice), now - 10 * 60 * 1000);
  EXPECT_TRUE(in.receive_stored(old)) << "the directory holds it: a duplicate is still a success";
  EXPECT_EQ(rejections.total, 1u);
}

TEST_F(AnnouncementIntakeTest, StoredAnnouncementPastItsTtlOrForgedIsRefused) {
  auto& in = make();
  const auto now = unix_ms();
  const auto expired = alice.announce(now - 40 * 60 * 1000, 30min);
  EXPECT_FALSE(in.receive_stored(expired));
  EXPECT_FALSE(in.receive_stored(tamper(bob.announce(now - 60'000), "bob", 'c')));
  EXPECT_EQ(directory.size(), 0u);
}

TEST_F(AnnouncementIntakeTest, StoredAnnouncementsAreNotRateLimited) {
  tight_limits();
  auto& in = make();
  const auto now = unix_ms();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(in.receive_stored(bob.announce(now - 60'000 + i)));
  EXPECT_EQ(timestamp_of(bob), now - 60'000 + 4);
  EXPECT_EQ(rejections.total, 0u);
  EXPECT_TRUE(backed_off.empty());
  // They spent none of Bob's live tokens either.
  in.receive(bob.announce(now));
  EXPECT_EQ(timestamp_of(bob), now);
  EXPECT_EQ(rejections.total, 0u);
}

}  // namespace
}  // namespace stargate::agent
