#include "agent/announcement.hpp"

#include "base/multiaddr.hpp"
#include "base/rfc4648.hpp"
#include "crypto/random.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace stargate::agent {

namespace json = boost::json;

namespace {

using Rejection = AnnouncementRejection;
using VerifyResult = boost::system::result<Announcement, Rejection>;

Rejection reject(AnnouncementError reason, std::string detail) { return Rejection{reason, std::move(detail)}; }
Rejection malformed(std::string detail) { return reject(AnnouncementError::malformed, std::move(detail)); }

// Printable text only: no C0 controls and no DEL, so that names cannot drive a terminal.
bool printable(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::optional<std::string> check_text(std::string_view what, std::string_view value, std::size_t min, std::size_t max) {
  if (value.size() < min || value.size() > max)
    return std::string(what) + " must be " + std::to_string(min) + ".." + std::to_string(max) + " bytes, not " +
           std::to_string(value.size());
  if (!printable(value)) return std::string(what) + " contains control characters";
  return std::nullopt;
}

// Checks what the agent says about itself (shared by the signer and the verifier).
std::optional<std::string> check_info(AnnouncementKind kind, std::string_view name,
                                      const std::vector<std::string>& capabilities,
                                      const std::vector<std::string>& addresses, std::string_view software,
                                      std::chrono::seconds ttl, const AnnouncementPolicy& policy) {
  const auto& l = policy.limits;
  if (auto e = check_text("name", name, 1, l.max_name_bytes)) return e;
  if (capabilities.size() > l.max_capabilities)
    return "more than " + std::to_string(l.max_capabilities) + " capabilities";
  for (const auto& c : capabilities)
    if (auto e = check_text("capability", c, 1, l.max_capability_bytes)) return e;
  if (addresses.size() > l.max_addresses) return "more than " + std::to_string(l.max_addresses) + " addresses";
  for (const auto& a : addresses) {
    if (auto e = check_text("address", a, 1, l.max_address_bytes)) return e;
    if (auto parsed = Multiaddr::parse(a); !parsed) return parsed.error().message;
  }
  if (auto e = check_text("software", software, 0, l.max_software_bytes)) return e;
  std::chrono::seconds min_ttl{kind == AnnouncementKind::announce ? 1 : 0};
  if (ttl < min_ttl || ttl > policy.max_ttl)
    return "ttl must be " + std::to_string(min_ttl.count()) + ".." + std::to_string(policy.max_ttl.count()) +
           " seconds, not " + std::to_string(ttl.count());
  return std::nullopt;
}

template <std::size_t N>
bool decode_hex_array(const json::value* v, std::array<std::uint8_t, N>& out) {
  if (!v || !v->is_string()) return false;
  auto decoded = base16_decode(std::string_view(v->get_string()));  // lowercase only
  if (!decoded || decoded->size() != N) return false;
  std::copy(decoded->begin(), decoded->end(), out.begin());
  return true;
}

bool read_string(const json::object& doc, std::string_view key, std::string& out) {
  const json::value* v = doc.if_contains(key);
  if (!v || !v->is_string()) return false;
  out = std::string(v->get_string());
  return true;
}

// An array of strings of at most `max` elements (checked before copying anything).
std::optional<std::string> read_strings(const json::object& doc, std::string_view key, std::size_t max,
                                        std::vector<std::string>& out) {
  const json::value* v = doc.if_contains(key);
  if (!v || !v->is_array()) return "\"" + std::string(key) + "\" must be an array of strings";
  const json::array& a = v->get_array();
  if (a.size() > max) return "more than " + std::to_string(max) + " " + std::string(key);
  for (const auto& item : a) {
    if (!item.is_string()) return "\"" + std::string(key) + "\" must be an array of strings";
    out.emplace_back(item.get_string());
  }
  return std::nullopt;
}

// The number of members of the top-level object of `text`, which must already have parsed as a JSON
// object. Compared with the parsed object's size, it reveals duplicate members, which parsers
// resolve differently (first or last wins): a signer could show different documents to different
// verifiers, so they are refused.
std::size_t count_top_level_members(std::string_view text) {
  std::size_t count = 0, depth = 0;
  bool expect_key = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      if (depth == 1 && expect_key) ++count;
      expect_key = false;
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;  // skip the escaped character
    } else if (c == '{' || c == '[') {
      ++depth;
      expect_key = depth == 1 && c == '{';
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',') {
      expect_key = depth == 1;
    }
  }
  return count;
}

json::value parse_json(std::string_view text, std::size_t max_depth, boost::system::error_code& ec) {
  json::parse_options options;
  options.max_depth = max_depth;
  return json::parse(json::string_view(text.data(), text.size()), ec, json::storage_ptr(), options);
}

}  // namespace

std::string_view to_string(AnnouncementKind kind) { return kind == AnnouncementKind::leave ? "leave" : "announce"; }

bool Announcement::has_capability(std::string_view capability) const {
  return std::find(capabilities.begin(), capabilities.end(), capability) != capabilities.end();
}

std::string_view describe(AnnouncementError error) {
  switch (error) {
    case AnnouncementError::too_large: return "too large";
    case AnnouncementError::malformed: return "malformed";
    case AnnouncementError::unsupported_version: return "unsupported version";
    case AnnouncementError::bad_signature: return "bad signature";
    case AnnouncementError::key_mismatch: return "key mismatch";
    case AnnouncementError::stale: return "stale";
    case AnnouncementError::from_future: return "from the future";
    case AnnouncementError::replay: return "replay";
    case AnnouncementError::duplicate: return "duplicate";
  }
  return "unknown";
}

std::string_view to_string(AnnouncementError error) {
  switch (error) {
    case AnnouncementError::too_large: return "too_large";
    case AnnouncementError::malformed: return "malformed";
    case AnnouncementError::unsupported_version: return "unsupported_version";
    case AnnouncementError::bad_signature: return "bad_signature";
    case AnnouncementError::key_mismatch: return "key_mismatch";
    case AnnouncementError::stale: return "stale";
    case AnnouncementError::from_future: return "from_future";
    case AnnouncementError::replay: return "replay";
    case AnnouncementError::duplicate: return "duplicate";
  }
  return "unknown";
}

std::string AnnouncementRejection::to_string() const {
  std::string out = "announcement refused (" + std::string(describe(reason)) + ")";
  if (!detail.empty()) out += ": " + detail;
  return out;
}

void throw_exception_from_error(const AnnouncementRejection& r, const boost::source_location&) {
  throw ErrorException(r.to_string());
}

Bytes signed_bytes(std::string_view doc) {
  Bytes out = to_bytes(kAnnounceSignaturePrefix);
  append(out, as_bytes(doc));
  return out;
}

std::string sign_document(const crypto::Ed25519PrivateKey& key, std::string_view doc) {
  crypto::Ed25519Signature sig = key.sign(signed_bytes(doc));
  json::object wire;
  wire["doc"] = json::string_view(doc.data(), doc.size());
  wire["sig"] = to_hex(sig);
  return json::serialize(wire);
}

Result<std::string> sign_announcement(const crypto::Ed25519PrivateKey& key, const AnnouncementInfo& info,
                                      UnixMillis now, const AnnouncementPolicy& policy,
                                      const std::optional<AnnounceNonce>& nonce) {
  std::chrono::seconds ttl = info.kind == AnnouncementKind::leave ? std::chrono::seconds(0) : info.ttl;
  if (auto e = check_info(info.kind, info.name, info.capabilities, info.addresses, info.software, ttl, policy))
    return make_error("announcement: " + *e);
  AnnounceNonce n{};
  if (nonce) {
    n = *nonce;
  } else {
    crypto::random_bytes(n);
  }
  const auto& pub = key.public_key();
  // Members in a fixed order (json::object keeps insertion order), for readable documents; nothing
  // depends on the order, since verifiers check the bytes, not a re-serialisation.
  json::object doc;
  doc["v"] = kAnnouncementVersion;
  doc["kind"] = to_string(info.kind);
  doc["agent_id"] = crypto::agent_id(pub);
  doc["peer_id"] = crypto::PeerId::from_public_key(pub).to_string();
  doc["public_key"] = to_hex(pub.bytes());
  doc["x25519_key"] = to_hex(info.x25519_key);
  doc["name"] = info.name;
  json::array caps;
  for (const auto& c : info.capabilities) caps.emplace_back(c);
  doc["capabilities"] = std::move(caps);
  json::array addrs;
  for (const auto& a : info.addresses) addrs.emplace_back(a);
  doc["addresses"] = std::move(addrs);
  doc["software"] = info.software;
  doc["timestamp"] = now;
  doc["ttl"] = ttl.count();
  doc["nonce"] = to_hex(n);
  std::string text = json::serialize(doc);
  if (text.size() > policy.limits.max_doc_bytes)
    return make_error("announcement: document of " + std::to_string(text.size()) + " bytes exceeds " +
                      std::to_string(policy.limits.max_doc_bytes));
  return Result<std::string>(boost::system::in_place_value, sign_document(key, text));
}

VerifyResult verify_announcement(std::string_view wire, UnixMillis now, const AnnouncementPolicy& policy) {
  const auto& limits = policy.limits;
  // The document travels as a JSON string, so it grows when escaped: at most 6 wire bytes per
  // document byte (a six-byte u-escape for a 2-byte character, by a sender that escapes non-ASCII). Bound the
  // wire form before parsing, the document after.
  const std::size_t max_wire = 6 * limits.max_doc_bytes + 1024;
  if (wire.size() > max_wire)
    return reject(AnnouncementError::too_large,
                  "wire form of " + std::to_string(wire.size()) + " bytes exceeds " + std::to_string(max_wire));
  boost::system::error_code ec;
  json::value outer = parse_json(wire, 2, ec);
  if (ec) return malformed("wire form is not JSON: " + ec.message());
  if (!outer.is_object()) return malformed("wire form must be a JSON object {\"doc\", \"sig\"}");
  const json::value* doc_value = outer.get_object().if_contains("doc");
  const json::value* sig_value = outer.get_object().if_contains("sig");
  if (!doc_value || !doc_value->is_string()) return malformed("\"doc\" must be a string");
  crypto::Ed25519Signature sig{};
  if (!decode_hex_array(sig_value, sig)) return malformed("\"sig\" must be 128 lowercase hex characters");
  std::string_view doc_text(doc_value->get_string());
  if (doc_text.size() > limits.max_doc_bytes)
    return reject(AnnouncementError::too_large, "document of " + std::to_string(doc_text.size()) +
                                                    " bytes exceeds " + std::to_string(limits.max_doc_bytes));

  // Depth 2: the document object and its arrays of strings; nothing deeper is valid anyway.
  json::value doc_root = parse_json(doc_text, 2, ec);
  if (ec) return malformed("document is not JSON: " + ec.message());
  if (!doc_root.is_object()) return malformed("document must be a JSON object");
  const json::object& doc = doc_root.get_object();
  if (count_top_level_members(doc_text) != doc.size()) return malformed("document has duplicate members");

  const json::value* v = doc.if_contains("v");
  if (!v || !v->is_int64()) return malformed("\"v\" must be an integer");
  if (v->get_int64() != kAnnouncementVersion)
    return reject(AnnouncementError::unsupported_version, "version " + std::to_string(v->get_int64()));

  Announcement a;
  std::string kind;
  if (!read_string(doc, "kind", kind)) return malformed("\"kind\" must be a string");
  if (kind == "announce") {
    a.kind = AnnouncementKind::announce;
  } else if (kind == "leave") {
    a.kind = AnnouncementKind::leave;
  } else {
    return malformed("\"kind\" must be \"announce\" or \"leave\"");
  }
  if (!read_string(doc, "agent_id", a.agent_id) || !crypto::looks_like_agent_id(a.agent_id))
    return malformed("\"agent_id\" must be 32 lowercase hex characters");
  std::string peer_id_text;
  if (!read_string(doc, "peer_id", peer_id_text) || peer_id_text.size() > 128)
    return malformed("\"peer_id\" must be a string");
  auto peer_id = crypto::PeerId::parse(peer_id_text);
  if (!peer_id) return malformed("\"peer_id\": " + peer_id.error().message);
  a.peer_id = std::move(*peer_id);
  std::array<std::uint8_t, 32> pub_raw{};
  if (!decode_hex_array(doc.if_contains("public_key"), pub_raw))
    return malformed("\"public_key\" must be 64 lowercase hex characters");
  auto pub = crypto::Ed25519PublicKey::from_bytes(pub_raw);
  if (!pub) return malformed("\"public_key\": " + pub.error().message);
  a.public_key = std::move(*pub);
  if (!decode_hex_array(doc.if_contains("x25519_key"), a.x25519_key))
    return malformed("\"x25519_key\" must be 64 lowercase hex characters");
  if (!read_string(doc, "name", a.name)) return malformed("\"name\" must be a string");
  if (auto e = read_strings(doc, "capabilities", limits.max_capabilities, a.capabilities)) return malformed(*e);
  if (auto e = read_strings(doc, "addresses", limits.max_addresses, a.addresses)) return malformed(*e);
  if (!read_string(doc, "software", a.software)) return malformed("\"software\" must be a string");
  const json::value* ts = doc.if_contains("timestamp");
  if (!ts || !ts->is_int64() || ts->get_int64() < 0)
    return malformed("\"timestamp\" must be a non-negative integer (Unix milliseconds)");
  a.timestamp = ts->get_int64();
  const json::value* ttl = doc.if_contains("ttl");
  if (!ttl || !ttl->is_int64() || ttl->get_int64() < 0 || ttl->get_int64() > (std::int64_t{1} << 31))
    return malformed("\"ttl\" must be a non-negative integer (seconds)");
  a.ttl = std::chrono::seconds(ttl->get_int64());
  if (!decode_hex_array(doc.if_contains("nonce"), a.nonce))
    return malformed("\"nonce\" must be 32 lowercase hex characters");
  if (auto e = check_info(a.kind, a.name, a.capabilities, a.addresses, a.software, a.ttl, policy))
    return malformed(*e);

  // Time (cheap, before the signature).
  const std::int64_t skew = policy.max_clock_skew.count();
  const std::int64_t max_age = policy.max_age ? policy.max_age->count() : skew;
  if (a.timestamp < now - max_age)
    return reject(AnnouncementError::stale, "timestamp " + std::to_string(now - a.timestamp) +
                                                " ms in the past (tolerance " + std::to_string(max_age) + " ms)");
  if (a.timestamp > now + skew)
    return reject(AnnouncementError::from_future, "timestamp " + std::to_string(a.timestamp - now) +
                                                      " ms in the future (tolerance " + std::to_string(skew) + " ms)");
  if (a.kind == AnnouncementKind::announce && a.expires_at() <= now)
    return reject(AnnouncementError::stale, "ttl lapsed " + std::to_string(now - a.expires_at()) + " ms ago");

  // Identity: both IDs must be the key's.
  if (crypto::agent_id(a.public_key) != a.agent_id)
    return reject(AnnouncementError::key_mismatch, "agent_id " + a.agent_id + " is not derived from public_key");
  if (!a.peer_id.matches(a.public_key))
    return reject(AnnouncementError::key_mismatch, "peer_id " + peer_id_text + " is not derived from public_key");

  if (!a.public_key.verify(signed_bytes(doc_text), sig))
    return reject(AnnouncementError::bad_signature, "signature does not verify under public_key");
  return a;
}

// ---------------------------------------------------------------------------------------------------
// PeerDirectory

PeerDirectory::PeerDirectory(Config config) : config_(std::move(config)) {}

boost::system::result<DirectoryChange, AnnouncementRejection> PeerDirectory::receive(std::string_view wire,
                                                                                     UnixMillis now) {
  auto verified = verify_announcement(wire, now, config_.policy);
  if (!verified) return verified.error();
  return apply(std::move(*verified), now, std::string(wire));
}

boost::system::result<DirectoryChange, AnnouncementRejection> PeerDirectory::apply(Announcement a, UnixMillis now,
                                                                                   std::string wire) {
  expire_tombstones(now);
  const auto key = std::make_pair(a.timestamp, a.nonce);
  auto check_newer = [&](UnixMillis ts, const AnnounceNonce& nonce) -> std::optional<Rejection> {
    const auto held = std::make_pair(ts, nonce);
    if (key == held) return reject(AnnouncementError::duplicate, "already held for agent " + a.agent_id);
    if (key < held)
      return reject(AnnouncementError::replay, "agent " + a.agent_id + " has a newer announcement (timestamp " +
                                                   std::to_string(ts) + ")");
    return std::nullopt;
  };
  if (auto t = tombstones_.find(a.agent_id); t != tombstones_.end()) {
    if (auto r = check_newer(t->second.timestamp, t->second.nonce)) return *r;
  }
  auto it = entries_.find(a.agent_id);
  if (it != entries_.end()) {
    const Announcement& held = it->second.announcement;
    if (auto r = check_newer(held.timestamp, held.nonce)) return *r;
    if (!(held.public_key == a.public_key))
      return reject(AnnouncementError::key_mismatch, "agent " + a.agent_id + " is held with another public key");
  }

  if (a.kind == AnnouncementKind::leave) {
    add_tombstone(a, now);
    if (it == entries_.end()) return DirectoryChange::unchanged;
    erase_entry(it);
    return DirectoryChange::removed;
  }
  if (a.expires_at() <= now) return reject(AnnouncementError::stale, "ttl lapsed");

  if (it != entries_.end()) {
    PeerEntry& entry = it->second;
    by_expiry_.erase({entry.expires_at(), a.agent_id});
    by_timestamp_.erase({entry.announcement.timestamp, a.agent_id});
    if (entry.announcement.peer_id != a.peer_id) {  // cannot happen with the same key; kept consistent anyway
      by_peer_id_.erase(entry.announcement.peer_id);
      by_peer_id_[a.peer_id] = a.agent_id;
    }
    entry.announcement = std::move(a);
    entry.wire = std::move(wire);
    entry.last_seen = now;
    by_expiry_.emplace(entry.expires_at(), it->first);
    by_timestamp_.emplace(entry.announcement.timestamp, it->first);
    return DirectoryChange::updated;
  }

  if (config_.max_entries == 0) return reject(AnnouncementError::malformed, "directory holds no entries");
  while (entries_.size() >= config_.max_entries) {  // evict the agent announced longest ago
    auto oldest = entries_.find(by_timestamp_.begin()->second);
    erase_entry(oldest);
  }
  std::string agent_id = a.agent_id;
  PeerEntry entry{std::move(a), std::move(wire), now, now};
  auto [inserted, ok] = entries_.emplace(agent_id, std::move(entry));
  by_peer_id_[inserted->second.announcement.peer_id] = agent_id;
  by_expiry_.emplace(inserted->second.expires_at(), agent_id);
  by_timestamp_.emplace(inserted->second.announcement.timestamp, agent_id);
  return DirectoryChange::added;
}

void PeerDirectory::erase_entry(std::unordered_map<std::string, PeerEntry>::iterator it) {
  const Announcement& a = it->second.announcement;
  by_expiry_.erase({a.expires_at(), it->first});
  by_timestamp_.erase({a.timestamp, it->first});
  if (auto p = by_peer_id_.find(a.peer_id); p != by_peer_id_.end() && p->second == it->first) by_peer_id_.erase(p);
  entries_.erase(it);
}

void PeerDirectory::add_tombstone(const Announcement& leave, UnixMillis now) {
  // After `until`, any announcement older than the leave is stale, so the tombstone can go.
  UnixMillis until = std::max(leave.timestamp, now) + config_.policy.max_clock_skew.count();
  if (auto old = tombstones_.find(leave.agent_id); old != tombstones_.end()) {
    tombstones_by_until_.erase({old->second.until, leave.agent_id});
    tombstones_.erase(old);
  }
  std::size_t bound = std::max<std::size_t>(config_.max_entries, 1);
  while (tombstones_.size() >= bound) {
    auto first = tombstones_by_until_.begin();
    tombstones_.erase(first->second);
    tombstones_by_until_.erase(first);
  }
  tombstones_.emplace(leave.agent_id, Tombstone{leave.timestamp, leave.nonce, until});
  tombstones_by_until_.emplace(until, leave.agent_id);
}

void PeerDirectory::expire_tombstones(UnixMillis now) {
  while (!tombstones_by_until_.empty() && tombstones_by_until_.begin()->first <= now) {
    tombstones_.erase(tombstones_by_until_.begin()->second);
    tombstones_by_until_.erase(tombstones_by_until_.begin());
  }
}

std::vector<std::string> PeerDirectory::expire(UnixMillis now) {
  expire_tombstones(now);
  std::vector<std::string> gone;
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    std::string agent_id = by_expiry_.begin()->second;
    erase_entry(entries_.find(agent_id));
    gone.push_back(std::move(agent_id));
  }
  return gone;
}

std::optional<UnixMillis> PeerDirectory::next_expiry() const {
  if (by_expiry_.empty()) return std::nullopt;
  return by_expiry_.begin()->first;
}

bool PeerDirectory::remove(std::string_view agent_id) {
  auto it = entries_.find(std::string(agent_id));
  if (it == entries_.end()) return false;
  erase_entry(it);
  return true;
}

const PeerEntry* PeerDirectory::find(std::string_view agent_id) const {
  auto it = entries_.find(std::string(agent_id));
  return it == entries_.end() ? nullptr : &it->second;
}

const PeerEntry* PeerDirectory::find(const crypto::PeerId& peer_id) const {
  auto it = by_peer_id_.find(peer_id);
  return it == by_peer_id_.end() ? nullptr : find(it->second);
}

namespace {
std::vector<const PeerEntry*> sorted(std::vector<const PeerEntry*> v) {
  std::sort(v.begin(), v.end(), [](const PeerEntry* x, const PeerEntry* y) {
    return x->announcement.agent_id < y->announcement.agent_id;
  });
  return v;
}
}  // namespace

std::vector<const PeerEntry*> PeerDirectory::find_by_name(std::string_view name) const {
  std::vector<const PeerEntry*> out;
  for (const auto& [id, entry] : entries_)
    if (entry.announcement.name == name) out.push_back(&entry);
  return sorted(std::move(out));
}

std::vector<const PeerEntry*> PeerDirectory::with_capability(std::string_view capability) const {
  std::vector<const PeerEntry*> out;
  for (const auto& [id, entry] : entries_)
    if (capability.empty() || entry.announcement.has_capability(capability)) out.push_back(&entry);
  return sorted(std::move(out));
}

std::vector<const PeerEntry*> PeerDirectory::resolve(std::string_view text) const {
  if (crypto::looks_like_agent_id(text)) {
    if (const PeerEntry* e = find(text)) return {e};
  }
  if (text.size() <= 128) {
    if (auto peer_id = crypto::PeerId::parse(text)) {
      if (const PeerEntry* e = find(*peer_id)) return {e};
    }
  }
  return find_by_name(text);
}

}  // namespace stargate::agent
