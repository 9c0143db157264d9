#include "agent/announcement.hpp"

#include "crypto/x25519.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace stargate::agent {
namespace {

namespace json = boost::json;

constexpr UnixMillis kNow = 1'733'900'000'000;

crypto::Ed25519PrivateKey key_from(std::uint8_t seed_byte) {
  Bytes seed(32, seed_byte);
  return crypto::Ed25519PrivateKey::from_seed(seed).value();
}

AnnouncementInfo info(std::string name = "alice", std::vector<std::string> caps = {"search", "translate"}) {
  AnnouncementInfo i;
  i.name = std::move(name);
  i.capabilities = std::move(caps);
  i.addresses = {"/ip4/127.0.0.1/tcp/4001"};
  i.software = "stargate/0.1.0";
  i.x25519_key = crypto::X25519PrivateKey::generate().public_key();
  i.ttl = std::chrono::seconds(60);
  return i;
}

AnnounceNonce nonce_of(std::uint8_t b) {
  AnnounceNonce n;
  n.fill(b);
  return n;
}

std::string sign(const crypto::Ed25519PrivateKey& key, const AnnouncementInfo& i, UnixMillis at = kNow,
                 std::optional<AnnounceNonce> nonce = std::nullopt) {
  auto wire = sign_announcement(key, i, at, {}, nonce);
  EXPECT_TRUE(wire.has_value()) << (wire ? "" : wire.error().message);
  return wire ? *wire : std::string();
}

std::string doc_of(std::string_view wire) {
  return std::string(json::parse(wire).at("doc").as_string());
}

// Re-signs a document after editing it as JSON (a validly signed document with chosen contents).
std::string resign(const crypto::Ed25519PrivateKey& key, std::string_view wire,
                   const std::function<void(json::object&)>& edit) {
  json::value doc = json::parse(doc_of(wire));
  edit(doc.as_object());
  return sign_document(key, json::serialize(doc));
}

AnnouncementError reason(const boost::system::result<Announcement, AnnouncementRejection>& r) {
  EXPECT_FALSE(r.has_value());
  return r ? AnnouncementError::malformed : r.error().reason;
}

TEST(Announcement, SignAndVerify) {
  auto key = key_from(1);
  AnnouncementInfo i = info();
  std::string wire = sign(key, i, kNow, nonce_of(0xab));
  auto a = verify_announcement(wire, kNow);
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  EXPECT_EQ(a->version, kAnnouncementVersion);
  EXPECT_EQ(a->kind, AnnouncementKind::announce);
  EXPECT_EQ(a->agent_id, crypto::agent_id(key.public_key()));
  EXPECT_EQ(a->peer_id, crypto::PeerId::from_public_key(key.public_key()));
  EXPECT_EQ(a->public_key, key.public_key());
  EXPECT_EQ(a->x25519_key, i.x25519_key);
  EXPECT_EQ(a->name, "alice");
  EXPECT_EQ(a->capabilities, i.capabilities);
  EXPECT_EQ(a->addresses, i.addresses);
  EXPECT_EQ(a->software, "stargate/0.1.0");
  EXPECT_EQ(a->timestamp, kNow);
  EXPECT_EQ(a->ttl, std::chrono::seconds(60));
  EXPECT_EQ(a->nonce, nonce_of(0xab));
  EXPECT_EQ(a->expires_at(), kNow + 60'000);
  EXPECT_TRUE(a->has_capability("search"));
  EXPECT_FALSE(a->has_capability("sear"));

  // The documented layout: the signature covers the prefix and the exact document bytes.
  json::value outer = json::parse(wire);
  std::string doc = doc_of(wire);
  Bytes sig;
  ASSERT_TRUE(from_hex(std::string(outer.at("sig").as_string()), sig));
  EXPECT_TRUE(key.public_key().verify(to_bytes("stargate-announce-v1:" + doc), sig));
  EXPECT_FALSE(key.public_key().verify(to_bytes(doc), sig));  // domain separation matters
  EXPECT_EQ(json::parse(doc).at("peer_id").as_string().subview(0, 8), "12D3KooW");

  // Random nonces differ from one signature to the next.
  auto n1 = verify_announcement(sign(key, i), kNow)->nonce;
  auto n2 = verify_announcement(sign(key, i), kNow)->nonce;
  EXPECT_NE(n1, n2);

  // An empty address list is fine.
  i.addresses.clear();
  EXPECT_TRUE(verify_announcement(sign(key, i), kNow).has_value());
}

TEST(Announcement, VerifiesDocumentsWithForeignFormatting) {
  // Another implementation may order members differently, add whitespace or escape non-ASCII:
  // the signature covers its bytes, so it verifies without any canonical form.
  auto key = key_from(2);
  std::string wire = sign(key, info("caf\xc3\xa9"));
  json::value doc = json::parse(doc_of(wire));
  std::string pretty = "{\n  \"name\": \"caf\\u00e9\"";
  for (const auto& [k, v] : doc.as_object())
    if (k != "name") pretty += ",\n  \"" + std::string(k) + "\": " + json::serialize(v);
  pretty += "\n}";
  auto a = verify_announcement(sign_document(key, pretty), kNow);
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  EXPECT_EQ(a->name, "caf\xc3\xa9");
}

// Produced by the Python snippet in docs/protocol.md's construction (`cryptography`, json.dumps with
// separators=(",", ":")): Ed25519 seed 00..1f, X25519 secret 20..3f, nonce 00..0f.
constexpr std::string_view kPythonVector =
    R"({"doc":"{\"v\":1,\"kind\":\"announce\",\"agent_id\":\"56475aa75463474c0285df5dbf2bcab7\",\"peer_id\":\"12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB\",\"public_key\":\"03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8\",\"x25519_key\":\"358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254\",\"name\":\"alice\",\"capabilities\":[\"search\",\"translate\"],\"addresses\":[],\"software\":\"stargate/0.1.0\",\"timestamp\":1733900000000,\"ttl\":300,\"nonce\":\"000102030405060708090a0b0c0d0e0f\"}","sig":"31860c77b81f5d7435bc9781d233ba3b1763fa7a870451e9bd708e52aecd5afef8733d6be717254eb813a02a338c868cf24c55117ea50e300a0a19648247030e"})";

TEST(Announcement, InteroperatesWithAnotherImplementation) {
  constexpr UnixMillis at = 1'733'900'000'000;
  auto a = verify_announcement(kPythonVector, at + 1000);
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  EXPECT_EQ(a->agent_id, "56475aa75463474c0285df5dbf2bcab7");
  EXPECT_EQ(a->peer_id.to_string(), "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB");
  EXPECT_EQ(a->name, "alice");

  // The same inputs signed here give the same bytes (Ed25519 is deterministic, members are written
  // in the documented order), so the Python verifier accepts what this code sends.
  Bytes seed(32), x_secret(32);
  for (std::size_t k = 0; k < 32; ++k) {
    seed[k] = static_cast<std::uint8_t>(k);
    x_secret[k] = static_cast<std::uint8_t>(32 + k);
  }
  auto key = crypto::Ed25519PrivateKey::from_seed(seed).value();
  AnnouncementInfo i;
  i.name = "alice";
  i.capabilities = {"search", "translate"};
  i.software = "stargate/0.1.0";
  i.x25519_key = crypto::X25519PrivateKey::from_bytes(x_secret).value().public_key();
  i.ttl = std::chrono::seconds(300);
  AnnounceNonce nonce;
  for (std::size_t k = 0; k < nonce.size(); ++k) nonce[k] = static_cast<std::uint8_t>(k);
  auto wire = sign_announcement(key, i, at, {}, nonce);
  ASSERT_TRUE(wire.has_value());
  EXPECT_EQ(*wire, kPythonVector);
}

TEST(Announcement, TamperedByteIsABadSignature) {
  auto key = key_from(3);
  std::string wire = sign(key, info("alice"));
  auto pos = wire.find("alice");
  ASSERT_NE(pos, std::string::npos);
  std::string tampered = wire;
  tampered[pos] = 'A';
  EXPECT_EQ(reason(verify_announcement(tampered, kNow)), AnnouncementError::bad_signature);

  // Every character of the signature matters too.
  std::string bad_sig = wire;
  auto sig_pos = bad_sig.find("\"sig\":\"") + 7;
  bad_sig[sig_pos] = bad_sig[sig_pos] == '0' ? '1' : '0';
  EXPECT_EQ(reason(verify_announcement(bad_sig, kNow)), AnnouncementError::bad_signature);

  // Re-signing the unchanged document by its key verifies; by any other key it does not.
  EXPECT_TRUE(verify_announcement(resign(key, wire, [](json::object&) {}), kNow).has_value());
  auto other = key_from(4);
  std::string forged = sign_document(other, doc_of(wire));  // signed by someone else
  EXPECT_EQ(reason(verify_announcement(forged, kNow)), AnnouncementError::bad_signature);
}

TEST(Announcement, IdsMustDeriveFromTheKey) {
  auto key = key_from(5);
  auto other = key_from(6);
  std::string wire = sign(key, info());
  // Validly signed by `key`, but claiming another agent ID or PeerId.
  std::string wrong_agent = resign(key, wire, [&](json::object& d) { d["agent_id"] = crypto::agent_id(other.public_key()); });
  EXPECT_EQ(reason(verify_announcement(wrong_agent, kNow)), AnnouncementError::key_mismatch);
  std::string wrong_peer = resign(key, wire, [&](json::object& d) {
    d["peer_id"] = crypto::PeerId::from_public_key(other.public_key()).to_string();
  });
  EXPECT_EQ(reason(verify_announcement(wrong_peer, kNow)), AnnouncementError::key_mismatch);
  // Someone else's key in the document, signed by that key, but the IDs of the first: refused.
  std::string swapped_key = resign(other, wire, [&](json::object& d) { d["public_key"] = to_hex(other.public_key().bytes()); });
  EXPECT_EQ(reason(verify_announcement(swapped_key, kNow)), AnnouncementError::key_mismatch);
}

TEST(Announcement, TimestampsOutsideTheSkewAreRefused) {
  auto key = key_from(7);
  AnnouncementInfo i = info();
  i.ttl = std::chrono::seconds(3600);
  const UnixMillis skew = 120'000;
  EXPECT_TRUE(verify_announcement(sign(key, i, kNow - skew), kNow).has_value());
  EXPECT_TRUE(verify_announcement(sign(key, i, kNow + skew), kNow).has_value());
  EXPECT_EQ(reason(verify_announcement(sign(key, i, kNow - skew - 1), kNow)), AnnouncementError::stale);
  EXPECT_EQ(reason(verify_announcement(sign(key, i, kNow + skew + 1), kNow)), AnnouncementError::from_future);

  // Configurable.
  AnnouncementPolicy tight;
  tight.max_clock_skew = std::chrono::seconds(5);
  EXPECT_EQ(reason(verify_announcement(sign(key, i, kNow - 6000), kNow, tight)), AnnouncementError::stale);

  // Within the skew but past its TTL: stale too.
  i.ttl = std::chrono::seconds(10);
  EXPECT_EQ(reason(verify_announcement(sign(key, i, kNow - 10'000), kNow)), AnnouncementError::stale);
  EXPECT_TRUE(verify_announcement(sign(key, i, kNow - 9'999), kNow).has_value());
}

TEST(Announcement, BoundsAreEnforced) {
  auto key = key_from(8);
  AnnouncementPolicy policy;
  auto refused_to_sign = [&](AnnouncementInfo i) { return !sign_announcement(key, i, kNow, policy).has_value(); };

  AnnouncementInfo i = info(std::string(256, 'n'));
  EXPECT_TRUE(verify_announcement(sign(key, i), kNow).has_value());
  EXPECT_TRUE(refused_to_sign(info(std::string(257, 'n'))));
  EXPECT_TRUE(refused_to_sign(info("")));
  EXPECT_TRUE(refused_to_sign(info("evil\x1b[2J")));  // terminal escape

  std::vector<std::string> caps(64, std::string(128, 'c'));
  EXPECT_TRUE(verify_announcement(sign(key, info("a", caps)), kNow).has_value());
  caps.push_back("one-too-many");
  EXPECT_TRUE(refused_to_sign(info("a", caps)));
  EXPECT_TRUE(refused_to_sign(info("a", {std::string(129, 'c')})));
  EXPECT_TRUE(refused_to_sign(info("a", {""})));

  AnnouncementInfo addrs = info();
  addrs.addresses.assign(32, "/ip4/10.0.0.1/tcp/1");
  EXPECT_TRUE(verify_announcement(sign(key, addrs), kNow).has_value());
  addrs.addresses.push_back("/ip4/10.0.0.1/tcp/2");
  EXPECT_TRUE(refused_to_sign(addrs));
  addrs.addresses = {"not a multiaddr"};
  EXPECT_TRUE(refused_to_sign(addrs));

  AnnouncementInfo ttl = info();
  ttl.ttl = std::chrono::seconds(3601);
  EXPECT_TRUE(refused_to_sign(ttl));
  ttl.ttl = std::chrono::seconds(0);
  EXPECT_TRUE(refused_to_sign(ttl));

  // The same bounds on the receiving side, for documents from other implementations.
  std::string wire = sign(key, info());
  auto refused = [&](const std::function<void(json::object&)>& edit) {
    return reason(verify_announcement(resign(key, wire, edit), kNow));
  };
  EXPECT_EQ(refused([](json::object& d) { d["name"] = std::string(257, 'n'); }), AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) { d["ttl"] = 3601; }), AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) {
              json::array a;
              for (int k = 0; k < 65; ++k) a.emplace_back("c");
              d["capabilities"] = a;
            }),
            AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) { d["capabilities"] = json::array{json::array{"x"}}; }),
            AnnouncementError::malformed);  // nested deeper than a list of strings
  EXPECT_EQ(refused([](json::object& d) { d.erase("nonce"); }), AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) { d["nonce"] = "00"; }), AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) { d["kind"] = "hello"; }), AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) { d["timestamp"] = 1.5; }), AnnouncementError::malformed);
  EXPECT_EQ(refused([](json::object& d) { d["v"] = 2; }), AnnouncementError::unsupported_version);
  EXPECT_EQ(refused([](json::object& d) {
              std::string pk(d["public_key"].as_string());
              d["public_key"] = pk.substr(0, 62) + "AB";
            }),
            AnnouncementError::malformed);  // uppercase hex is not canonical

  // Duplicate members (parsers disagree on which wins) are refused, even inside a valid signature.
  std::string doc = doc_of(wire);
  std::string dup = doc.substr(0, doc.size() - 1) + ",\"name\":\"mallory\"}";
  EXPECT_EQ(reason(verify_announcement(sign_document(key, dup), kNow)), AnnouncementError::malformed);
  // Keys and strings with braces, commas, quotes and escapes do not confuse the member count.
  std::string tricky_flat = doc.substr(0, doc.size() - 1) + ",\"x,\\\"{\":\"a,}\\\\\",\"y\":[\"}\"]}";
  auto flat = verify_announcement(sign_document(key, tricky_flat), kNow);
  EXPECT_TRUE(flat.has_value()) << tricky_flat << " " << (flat ? "" : flat.error().to_string());
  std::string tricky_dup = doc.substr(0, doc.size() - 1) + ",\"x,\\\"{\":\"a,}\\\\\",\"ttl\":60}";
  EXPECT_EQ(reason(verify_announcement(sign_document(key, tricky_dup), kNow)), AnnouncementError::malformed);

  // Whole document at most 64 KiB (an unknown member pads it: unknown members are otherwise ignored).
  EXPECT_TRUE(verify_announcement(resign(key, wire, [](json::object& d) { d["extra"] = "ok"; }), kNow).has_value());
  EXPECT_EQ(refused([](json::object& d) { d["extra"] = std::string(64 * 1024, 'x'); }), AnnouncementError::too_large);
  EXPECT_EQ(reason(verify_announcement(std::string(1 << 20, ' '), kNow)), AnnouncementError::too_large);
  EXPECT_EQ(reason(verify_announcement("{\"doc\":5}", kNow)), AnnouncementError::malformed);
  EXPECT_EQ(reason(verify_announcement("not json", kNow)), AnnouncementError::malformed);
}

TEST(PeerDirectory, AddsUpdatesAndRefusesReplays) {
  auto key = key_from(10);
  PeerDirectory dir;
  std::string first = sign(key, info(), kNow, nonce_of(1));
  ASSERT_EQ(dir.receive(first, kNow).value(), DirectoryChange::added);
  EXPECT_EQ(dir.size(), 1u);

  // The same bytes again: a duplicate.
  EXPECT_EQ(dir.receive(first, kNow + 10).error().reason, AnnouncementError::duplicate);
  // Same timestamp, lower nonce: not newer.
  EXPECT_EQ(dir.receive(sign(key, info(), kNow, nonce_of(0)), kNow).error().reason, AnnouncementError::replay);
  // Newer: an update.
  std::string second = sign(key, info("alice", {"search", "summarize"}), kNow + 1000, nonce_of(2));
  ASSERT_EQ(dir.receive(second, kNow + 1000).value(), DirectoryChange::updated);
  const PeerEntry* e = dir.find(crypto::agent_id(key.public_key()));
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->announcement.has_capability("summarize"));
  EXPECT_EQ(e->first_seen, kNow);
  EXPECT_EQ(e->last_seen, kNow + 1000);
  EXPECT_EQ(e->wire, second);
  // The older one replayed later: refused, and the newer state stays.
  EXPECT_EQ(dir.receive(first, kNow + 2000).error().reason, AnnouncementError::replay);
  EXPECT_TRUE(dir.find(crypto::agent_id(key.public_key()))->announcement.has_capability("summarize"));
  EXPECT_EQ(dir.size(), 1u);
}

TEST(PeerDirectory, EntriesExpireWithTheirTtl) {
  auto a = key_from(11), b = key_from(12);
  PeerDirectory dir;
  AnnouncementInfo short_ttl = info("a");
  short_ttl.ttl = std::chrono::seconds(30);
  AnnouncementInfo long_ttl = info("b");
  long_ttl.ttl = std::chrono::seconds(90);
  ASSERT_TRUE(dir.receive(sign(a, short_ttl), kNow).has_value());
  ASSERT_TRUE(dir.receive(sign(b, long_ttl), kNow).has_value());
  EXPECT_EQ(dir.next_expiry(), kNow + 30'000);

  EXPECT_TRUE(dir.expire(kNow + 29'999).empty());
  auto gone = dir.expire(kNow + 30'000);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], crypto::agent_id(a.public_key()));
  EXPECT_EQ(dir.find(crypto::agent_id(a.public_key())), nullptr);
  EXPECT_EQ(dir.find(crypto::PeerId::from_public_key(a.public_key())), nullptr);
  EXPECT_EQ(dir.size(), 1u);
  EXPECT_EQ(dir.next_expiry(), kNow + 90'000);

  // A refresh pushes the expiry out.
  ASSERT_EQ(dir.receive(sign(b, long_ttl, kNow + 60'000), kNow + 60'000).value(), DirectoryChange::updated);
  EXPECT_TRUE(dir.expire(kNow + 90'000).empty());
  EXPECT_EQ(dir.expire(kNow + 150'000).size(), 1u);
  EXPECT_EQ(dir.size(), 0u);
  EXPECT_FALSE(dir.next_expiry().has_value());
}

TEST(PeerDirectory, LeaveRemovesAtOnceAndCannotBeUndoneByAReplay) {
  auto key = key_from(13);
  PeerDirectory dir;
  std::string hello = sign(key, info(), kNow);
  ASSERT_TRUE(dir.receive(hello, kNow).has_value());
  AnnouncementInfo bye = info();
  bye.kind = AnnouncementKind::leave;
  std::string leave = sign(key, bye, kNow + 1000);
  auto verified = verify_announcement(leave, kNow + 1000);
  ASSERT_TRUE(verified.has_value()) << verified.error().to_string();
  EXPECT_EQ(verified->kind, AnnouncementKind::leave);
  EXPECT_EQ(verified->ttl, std::chrono::seconds(0));
  ASSERT_EQ(dir.receive(leave, kNow + 1000).value(), DirectoryChange::removed);
  EXPECT_EQ(dir.size(), 0u);
  // The earlier announcement replayed after the leave does not bring the agent back.
  EXPECT_EQ(dir.receive(hello, kNow + 2000).error().reason, AnnouncementError::replay);
  EXPECT_EQ(dir.size(), 0u);
  // A later announcement does.
  EXPECT_EQ(dir.receive(sign(key, info(), kNow + 3000), kNow + 3000).value(), DirectoryChange::added);
  // A leave of an agent that is not there changes nothing.
  auto other = key_from(14);
  EXPECT_EQ(dir.receive(sign(other, bye, kNow + 3000), kNow + 3000).value(), DirectoryChange::unchanged);
}

TEST(PeerDirectory, LookupByIdPeerIdNameAndCapability) {
  auto k1 = key_from(20), k2 = key_from(21), k3 = key_from(22);
  PeerDirectory dir;
  ASSERT_TRUE(dir.receive(sign(k1, info("alice", {"search"})), kNow).has_value());
  ASSERT_TRUE(dir.receive(sign(k2, info("bob", {"search", "translate"})), kNow).has_value());
  ASSERT_TRUE(dir.receive(sign(k3, info("bob", {"math"})), kNow).has_value());

  std::string id1 = crypto::agent_id(k1.public_key());
  auto peer1 = crypto::PeerId::from_public_key(k1.public_key());
  ASSERT_NE(dir.find(id1), nullptr);
  EXPECT_EQ(dir.find(peer1), dir.find(id1));
  EXPECT_EQ(dir.find("00000000000000000000000000000000"), nullptr);

  EXPECT_EQ(dir.find_by_name("alice").size(), 1u);
  auto bobs = dir.find_by_name("bob");
  ASSERT_EQ(bobs.size(), 2u);  // ambiguous: both candidates, for the caller's error message
  EXPECT_LT(bobs[0]->announcement.agent_id, bobs[1]->announcement.agent_id);
  EXPECT_TRUE(dir.find_by_name("carol").empty());
  EXPECT_TRUE(dir.find_by_name("Alice").empty());  // exact match only

  EXPECT_EQ(dir.with_capability("search").size(), 2u);
  EXPECT_EQ(dir.with_capability("math").size(), 1u);
  EXPECT_EQ(dir.with_capability("math")[0]->announcement.agent_id, crypto::agent_id(k3.public_key()));
  EXPECT_TRUE(dir.with_capability("cooking").empty());
  EXPECT_EQ(dir.all().size(), 3u);

  ASSERT_EQ(dir.resolve(id1).size(), 1u);
  EXPECT_EQ(dir.resolve(id1)[0]->announcement.name, "alice");
  ASSERT_EQ(dir.resolve(peer1.to_string()).size(), 1u);
  EXPECT_EQ(dir.resolve(peer1.to_string())[0]->announcement.agent_id, id1);
  EXPECT_EQ(dir.resolve("alice").size(), 1u);
  EXPECT_EQ(dir.resolve("bob").size(), 2u);
  EXPECT_TRUE(dir.resolve("nobody").empty());
}

TEST(PeerDirectory, BoundedEvictsTheOldest) {
  PeerDirectory::Config config;
  config.max_entries = 3;
  PeerDirectory dir(config);
  std::vector<std::string> ids;
  for (std::uint8_t i = 0; i < 4; ++i) {
    auto key = key_from(static_cast<std::uint8_t>(30 + i));
    ids.push_back(crypto::agent_id(key.public_key()));
    // Agent 0 announced longest ago, though it was received last but one.
    UnixMillis at = i == 0 ? kNow - 5000 : kNow + i;
    ASSERT_TRUE(dir.receive(sign(key, info("n" + std::to_string(i)), at), kNow + i).has_value());
  }
  EXPECT_EQ(dir.size(), 3u);
  EXPECT_EQ(dir.find(ids[0]), nullptr);
  for (int i = 1; i < 4; ++i) EXPECT_NE(dir.find(ids[static_cast<std::size_t>(i)]), nullptr);
  EXPECT_EQ(dir.find_by_name("n0").size(), 0u);
  EXPECT_EQ(dir.next_expiry(), kNow + 1 + 60'000);
}

TEST(PeerDirectory, RefusesWhatVerificationRefuses) {
  auto key = key_from(40);
  PeerDirectory dir;
  std::string wire = sign(key, info(), kNow - 200'000);
  EXPECT_EQ(dir.receive(wire, kNow).error().reason, AnnouncementError::stale);
  EXPECT_EQ(dir.size(), 0u);
}

}  // namespace
}  // namespace stargate::agent
