// libFuzzer target: signed agent announcements (src/agent/announcement.*) fed hostile bytes, as one
// wire form and as a sequence of lines given to a PeerDirectory. Verification must never crash and
// must refuse every forgery: an announcement may pass only when signed by the seed corpus's key, with
// exactly the signature that key makes over that document (any other would be a malleable signature
// accepted). One that passes must respect every bound of the policy, and the same facts signed again
// must verify to the same announcement. The directory must stay within its bound and consistent.
#include <cstddef>
#include <cstdint>

#include <boost/json.hpp>

#include "agent/announcement.hpp"
#include "check.hpp"

using namespace stargate;
using namespace stargate::agent;
namespace json = boost::json;

namespace {

// The receiver's clock, and the key that signed the genuine announcements of the seed corpus (at
// this time, seed 32 x 0x0b).
constexpr UnixMillis kNow = 1'700'000'000'000;

const crypto::Ed25519PrivateKey& seed_key() {
  static const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::from_seed(Bytes(32, 0x0b)).value();
  return key;
}

bool known_reason(AnnouncementError e) {
  switch (e) {
    case AnnouncementError::too_large:
    case AnnouncementError::malformed:
    case AnnouncementError::unsupported_version:
    case AnnouncementError::bad_signature:
    case AnnouncementError::key_mismatch:
    case AnnouncementError::stale:
    case AnnouncementError::from_future:
      return true;
    default:
      return false;  // replay and duplicate are the directory's, never verify_announcement's
  }
}

bool same(const Announcement& a, const Announcement& b) {
  return a.version == b.version && a.kind == b.kind && a.agent_id == b.agent_id && a.peer_id == b.peer_id &&
         a.public_key == b.public_key && a.x25519_key == b.x25519_key && a.name == b.name &&
         a.capabilities == b.capabilities && a.addresses == b.addresses && a.software == b.software &&
         a.timestamp == b.timestamp && a.ttl == b.ttl && a.nonce == b.nonce;
}

void verify(std::string_view wire, const AnnouncementPolicy& policy) {
  auto verified = verify_announcement(wire, kNow, policy);
  if (!verified) {
    check(known_reason(verified.error().reason) && !verified.error().detail.empty());
    (void)verified.error().to_string();
    return;
  }
  const Announcement& a = *verified;
  // Only the seed key signs, and only as it signs.
  check(a.public_key == seed_key().public_key());
  auto outer = json::parse(json::string_view(wire.data(), wire.size()));
  const json::string& doc = outer.at("doc").as_string();
  const auto genuine = seed_key().sign(signed_bytes(std::string_view(doc.data(), doc.size())));
  check(outer.at("sig").as_string() == to_hex(genuine));
  // Within the policy.
  const auto& l = policy.limits;
  check(a.version == kAnnouncementVersion && crypto::agent_id(a.public_key) == a.agent_id && a.peer_id.matches(a.public_key));
  check(!a.name.empty() && a.name.size() <= l.max_name_bytes && a.software.size() <= l.max_software_bytes);
  check(a.capabilities.size() <= l.max_capabilities && a.addresses.size() <= l.max_addresses);
  for (const auto& c : a.capabilities) check(!c.empty() && c.size() <= l.max_capability_bytes);
  for (const auto& addr : a.addresses) check(!addr.empty() && addr.size() <= l.max_address_bytes);
  check(a.ttl <= policy.max_ttl && a.timestamp <= kNow + policy.max_clock_skew.count());
  if (a.kind == AnnouncementKind::announce) check(a.expires_at() > kNow);
  // Signed again from the same facts, it verifies to the same announcement.
  AnnouncementInfo info{a.kind, a.name, a.capabilities, a.addresses, a.software, a.x25519_key, a.ttl};
  auto resigned = sign_announcement(seed_key(), info, a.timestamp, policy, a.nonce);
  check(resigned.has_value());
  auto again = verify_announcement(*resigned, kNow, policy);
  check(again && same(*again, a));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  verify(input, AnnouncementPolicy{});
  // As the DHT's validator reads stored documents: accepted until their TTL lapses.
  AnnouncementPolicy stored;
  stored.max_age = stored.max_ttl;
  verify(input, stored);

  // Each line a wire form received in turn, a second apart, by a directory of two entries.
  PeerDirectory directory(PeerDirectory::Config{.max_entries = 2, .policy = {}});
  UnixMillis now = kNow;
  for (std::string_view rest = input; !rest.empty(); now += 1000) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    auto change = directory.receive(line, now);
    if (change && *change == DirectoryChange::added) check(directory.find(crypto::agent_id(seed_key().public_key())));
    check(directory.size() <= 2);
    (void)directory.expire(now);
  }
  for (const PeerEntry* entry : directory.resolve(input)) check(entry->announcement.public_key == seed_key().public_key());
  check(directory.all().size() == directory.size());
  return 0;
}
