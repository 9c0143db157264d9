#pragma once
// Signed agent announcements (docs/protocol.md "Announcements") and the directory of peers they
// build, sans-IO: time is passed in as Unix milliseconds.
//
// Wire form, one JSON object with a detached signature beside the document it signs:
//
//   {"doc":"{\"v\":1,\"kind\":\"announce\",\"agent_id\":...}","sig":"<128 hex chars>"}
//
// `sig` is Ed25519 over the UTF-8 bytes "stargate-announce-v1:" + doc, where doc is the value of the
// "doc" string exactly as it decodes: a verifier in any language parses the outer object, takes the
// string and verifies, without ever re-serialising anything. The document is then parsed and
// checked: its agent_id and peer_id must both derive from its public_key, its timestamp must lie
// within the clock-skew tolerance, its TTL and sizes within bounds. Replays are refused by the
// PeerDirectory, which keeps the newest (timestamp, nonce) per agent.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "crypto/x25519.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stargate::agent {

inline constexpr std::string_view kAnnounceSubject = "traylinx.announce";
inline constexpr std::string_view kDiscoverySubject = "traylinx.discovery";
// The "v" of the documents this code writes and the only one it accepts.
inline constexpr int kAnnouncementVersion = 1;
// Domain separation: a signature over an announcement can never be mistaken for one over anything
// else this identity key signs.
inline constexpr std::string_view kAnnounceSignaturePrefix = "stargate-announce-v1:";

// Unix time in milliseconds (the caller's clock; tests pass any value).
using UnixMillis = std::int64_t;
using AnnounceNonce = std::array<std::uint8_t, 16>;

struct AnnouncementLimits {
  std::size_t max_doc_bytes = 64 * 1024;
  std::size_t max_name_bytes = 256;
  std::size_t max_capabilities = 64;
  std::size_t max_capability_bytes = 128;
  std::size_t max_addresses = 32;
  std::size_t max_address_bytes = 1024;
  std::size_t max_software_bytes = 128;
};

struct AnnouncementPolicy {
  // How far a document's timestamp may lie from the receiver's clock, either way.
  std::chrono::milliseconds max_clock_skew{120'000};
  // How old a document may be. Unset: max_clock_skew, for live announcements (a replay of an old
  // one is refused). Stored documents (DHT records, docs/dht.md) are accepted until their TTL
  // lapses, so the DHT's validator sets this to max_ttl.
  std::optional<std::chrono::milliseconds> max_age;
  std::chrono::seconds max_ttl{3600};
  AnnouncementLimits limits;
};

enum class AnnouncementKind { announce, leave };
std::string_view to_string(AnnouncementKind kind);

struct Announcement {
  int version = kAnnouncementVersion;
  AnnouncementKind kind = AnnouncementKind::announce;
  std::string agent_id;  // 32 lowercase hex: crypto::agent_id(public_key)
  crypto::PeerId peer_id;  // crypto::PeerId::from_public_key(public_key)
  crypto::Ed25519PublicKey public_key;
  crypto::X25519Key x25519_key{};  // the static key callers open Noise IK sessions to
  std::string name;
  std::vector<std::string> capabilities;
  std::vector<std::string> addresses;  // multiaddr text; may be empty
  std::string software;  // e.g. "stargate/0.1.0"
  UnixMillis timestamp = 0;
  std::chrono::seconds ttl{0};
  AnnounceNonce nonce{};

  UnixMillis expires_at() const { return timestamp + ttl.count() * 1000; }
  bool has_capability(std::string_view capability) const;
};

// What an agent says about itself; the signer adds the keys, IDs, timestamp and nonce.
struct AnnouncementInfo {
  AnnouncementKind kind = AnnouncementKind::announce;
  std::string name;
  std::vector<std::string> capabilities;
  std::vector<std::string> addresses;
  std::string software;
  crypto::X25519Key x25519_key{};
  std::chrono::seconds ttl{300};  // ignored for leave (written as 0)
};

// Builds, checks against `policy` (so that nothing is sent that receivers would refuse) and signs a
// document; returns the wire form. The nonce is random unless given (tests).
Result<std::string> sign_announcement(const crypto::Ed25519PrivateKey& key, const AnnouncementInfo& info,
                                      UnixMillis now, const AnnouncementPolicy& policy = {},
                                      const std::optional<AnnounceNonce>& nonce = std::nullopt);
// The wire form of an arbitrary document string, signed as is (for tests and other tooling).
std::string sign_document(const crypto::Ed25519PrivateKey& key, std::string_view doc);
// The bytes a signature covers: kAnnounceSignaturePrefix + doc.
Bytes signed_bytes(std::string_view doc);

enum class AnnouncementError {
  too_large,            // the wire form or the document exceeds its size bound
  malformed,            // not the wire form, or a field missing, mistyped or out of bounds
  unsupported_version,  // "v" is not kAnnouncementVersion
  bad_signature,        // the signature does not verify under the document's public key
  key_mismatch,         // agent_id or peer_id does not derive from public_key
  stale,                // older than the clock-skew tolerance, or already past its TTL
  from_future,          // newer than now + the clock-skew tolerance
  replay,               // not newer than what the directory holds for this agent
  duplicate,            // the very (timestamp, nonce) the directory already holds: harmless
};
std::string_view describe(AnnouncementError error);
// The enumerator's name ("bad_signature", "from_future"): a bounded metric label.
std::string_view to_string(AnnouncementError error);

struct AnnouncementRejection {
  AnnouncementError reason;
  std::string detail;
  std::string to_string() const;
};
[[noreturn]] void throw_exception_from_error(const AnnouncementRejection& r, const boost::source_location&);

// Size, parse (duplicate members refused), fields, time, key derivation, then the signature.
// Stateless: replays are the directory's job.
boost::system::result<Announcement, AnnouncementRejection> verify_announcement(std::string_view wire, UnixMillis now,
                                                                               const AnnouncementPolicy& policy = {});

struct PeerEntry {
  Announcement announcement;
  std::string wire;  // the signed bytes it arrived as ("" if applied without them)
  UnixMillis first_seen = 0;
  UnixMillis last_seen = 0;
  UnixMillis expires_at() const { return announcement.expires_at(); }
};

enum class DirectoryChange {
  added,      // a new agent
  updated,    // a newer announcement of a known agent
  removed,    // a leave of a known agent
  unchanged,  // a leave of an agent not (or no longer) in the directory
};

// Who is online, from verified announcements. Single-threaded; the pointers returned stay valid until
// the next call that changes the directory (receive, apply, expire, remove).
class PeerDirectory {
 public:
  struct Config {
    std::size_t max_entries = 10'000;  // when full, a new agent evicts the one announced longest ago
    AnnouncementPolicy policy;
  };

  PeerDirectory() : PeerDirectory(Config{}) {}
  explicit PeerDirectory(Config config);

  // verify_announcement + apply.
  boost::system::result<DirectoryChange, AnnouncementRejection> receive(std::string_view wire, UnixMillis now);
  // A verified announcement: refuses it unless its (timestamp, nonce) is newer than the agent's last
  // one (announce or leave); a leave removes the agent at once and is remembered until any
  // announcement older than it would be stale anyway. Also refuses one already past its TTL.
  boost::system::result<DirectoryChange, AnnouncementRejection> apply(Announcement announcement, UnixMillis now,
                                                                      std::string wire = {});
  // Drops the agents whose TTL has lapsed; returns their agent IDs.
  std::vector<std::string> expire(UnixMillis now);
  // The earliest TTL expiry, for arming a timer.
  std::optional<UnixMillis> next_expiry() const;
  bool remove(std::string_view agent_id);

  const PeerEntry* find(std::string_view agent_id) const;
  const PeerEntry* find(const crypto::PeerId& peer_id) const;
  // Every agent with exactly this display name (several: the caller reports an ambiguity).
  std::vector<const PeerEntry*> find_by_name(std::string_view name) const;
  // Every agent announcing the capability; all agents for "".
  std::vector<const PeerEntry*> with_capability(std::string_view capability) const;
  std::vector<const PeerEntry*> all() const { return with_capability({}); }
  // A peer named by agent ID, PeerId or display name, in that order of precedence: empty if unknown,
  // several if the name is ambiguous. Results are sorted by agent ID.
  std::vector<const PeerEntry*> resolve(std::string_view text) const;

  std::size_t size() const { return entries_.size(); }
  const Config& config() const { return config_; }

 private:
  struct Tombstone {
    UnixMillis timestamp;
    AnnounceNonce nonce;
    UnixMillis until;
  };
  void erase_entry(std::unordered_map<std::string, PeerEntry>::iterator it);
  void add_tombstone(const Announcement& leave, UnixMillis now);
  void expire_tombstones(UnixMillis now);

  Config config_;
  std::unordered_map<std::string, PeerEntry> entries_;  // by agent ID; node-based, so pointers are stable
  std::unordered_map<crypto::PeerId, std::string> by_peer_id_;
  std::set<std::pair<UnixMillis, std::string>> by_expiry_;
  std::set<std::pair<UnixMillis, std::string>> by_timestamp_;
  std::unordered_map<std::string, Tombstone> tombstones_;
  std::set<std::pair<UnixMillis, std::string>> tombstones_by_until_;
};

}  // namespace stargate::agent
