#include "p2p/noise/libp2p_handshake.hpp"

#include "base/endian.hpp"
#include "noise.pb.h"

#include <gtest/gtest.h>

#include <functional>

namespace stargate::p2p::noise {
namespace {

using crypto::Ed25519PrivateKey;
using crypto::PeerId;

struct Peer {
  Ed25519PrivateKey identity = Ed25519PrivateKey::generate();
  StaticNoiseKey static_key = StaticNoiseKey::generate(identity);
  PeerId id() const { return PeerId::from_public_key(identity.public_key()); }
};

// Moves bytes between two handshakes until both are done or one fails; `chunk` bounds each delivery
// (1 = byte at a time). Returns the first error.
Result<void> pump(Libp2pNoiseHandshake& a, Libp2pNoiseHandshake& b, std::size_t chunk = SIZE_MAX) {
  for (int rounds = 0; rounds < 10 && !(a.done() && b.done()); ++rounds) {
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      Bytes out = from->take_output();
      for (std::size_t pos = 0; pos < out.size(); pos += chunk) {
        auto r = to->receive(BytesView(out).subspan(pos, std::min(chunk, out.size() - pos)));
        if (!r) return r;
      }
    }
  }
  return {};
}

TEST(Libp2pNoise, SignatureMessage) {
  crypto::X25519Key k{};
  k.fill(0xAB);
  Bytes m = static_key_signature_message(k);
  ASSERT_EQ(m.size(), 24u + 32u);
  EXPECT_EQ(as_string(BytesView(m).first(24)), "noise-libp2p-static-key:");
  EXPECT_EQ(m.back(), 0xAB);
}

TEST(Libp2pNoise, StaticKeySignatureVerifies) {
  Peer p;
  EXPECT_TRUE(p.identity.public_key().verify(static_key_signature_message(p.static_key.key().public_key()),
                                             p.static_key.signature()));
  EXPECT_EQ(p.static_key.identity_key_proto(), crypto::encode_public_key_proto(p.identity.public_key()));
}

TEST(Libp2pNoise, PayloadEncodingFollowsTheSchema) {
  Peer p;
  const std::vector<std::string> muxers{"/yamux/1.0.0", "/mplex/6.7.0"};
  Bytes payload = encode_handshake_payload(p.static_key, muxers);
  pb::noise::NoiseHandshakePayload msg;
  ASSERT_TRUE(msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())));
  EXPECT_EQ(to_bytes(msg.identity_key()), p.static_key.identity_key_proto());
  EXPECT_EQ(msg.identity_sig().size(), 64u);
  ASSERT_TRUE(msg.has_extensions());
  ASSERT_EQ(msg.extensions().stream_muxers_size(), 2);
  EXPECT_EQ(msg.extensions().stream_muxers(0), "/yamux/1.0.0");
  // Field 1 (identity_key) comes first on the wire: 0x0a, length 36.
  EXPECT_EQ(payload[0], 0x0a);
  EXPECT_EQ(payload[1], 36);

  auto remote = verify_handshake_payload(payload, p.static_key.key().public_key());
  ASSERT_TRUE(remote) << remote.error().message;
  EXPECT_EQ(remote->peer_id, p.id());
  EXPECT_EQ(remote->stream_muxers, muxers);
}

void expect_established(Libp2pNoiseHandshake& init, Libp2pNoiseHandshake& resp, const Peer& pi, const Peer& pr) {
  ASSERT_TRUE(init.done());
  ASSERT_TRUE(resp.done());
  EXPECT_EQ(init.remote_peer_id(), pr.id());
  EXPECT_EQ(resp.remote_peer_id(), pi.id());
  EXPECT_EQ(init.remote_public_key(), pr.identity.public_key());
  EXPECT_EQ(resp.remote_public_key(), pi.identity.public_key());
  EXPECT_EQ(init.remote_static_key(), pr.static_key.key().public_key());
  EXPECT_EQ(init.handshake_hash(), resp.handshake_hash());
  EXPECT_FALSE(init.has_output());  // pump() delivered message 3
  auto si = init.take_transport();
  auto sr = resp.take_transport();
  EXPECT_TRUE(si.leftover.empty());
  EXPECT_TRUE(sr.leftover.empty());
  Bytes wire, out;
  si.transport.encrypt(as_bytes("hello responder"), wire);
  ASSERT_TRUE(sr.transport.decrypt(wire, out));
  EXPECT_EQ(out, to_bytes("hello responder"));
  wire.clear();
  out.clear();
  sr.transport.encrypt(as_bytes("hello initiator"), wire);
  ASSERT_TRUE(si.transport.decrypt(wire, out));
  EXPECT_EQ(out, to_bytes("hello initiator"));
}

TEST(Libp2pNoise, HandshakeBetweenTwoPeers) {
  Peer pi, pr;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key, {"/yamux/1.0.0"}, pr.id());
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key, {"/yamux/1.0.0", "/mplex/6.7.0"});
  EXPECT_TRUE(init.has_output());
  EXPECT_FALSE(resp.has_output());
  auto r = pump(init, resp);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(init.remote_stream_muxers(), (std::vector<std::string>{"/yamux/1.0.0", "/mplex/6.7.0"}));
  EXPECT_EQ(resp.remote_stream_muxers(), (std::vector<std::string>{"/yamux/1.0.0"}));
  expect_established(init, resp, pi, pr);
}

TEST(Libp2pNoise, HandshakeFedByteAtATime) {
  Peer pi, pr;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key, {}, pr.id());
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  auto r = pump(init, resp, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(init.remote_stream_muxers().empty());
  expect_established(init, resp, pi, pr);
}

TEST(Libp2pNoise, FramesAreLengthPrefixed) {
  Peer pi, pr;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key);
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  Bytes m1 = init.take_output();
  ASSERT_EQ(m1.size(), 2u + 32u);  // -> e with an empty payload
  EXPECT_EQ(m1[0], 0);
  EXPECT_EQ(m1[1], 32);
  ASSERT_TRUE(resp.receive(m1));
  Bytes m2 = resp.take_output();
  ASSERT_GT(m2.size(), 2u + 32u + 48u + 16u);
  EXPECT_EQ(load_be16(m2.data()), m2.size() - 2);
}

TEST(Libp2pNoise, ExpectedPeerIdMismatchFailsClearly) {
  Peer pi, pr, someone_else;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key, {}, someone_else.id());
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  auto r = pump(init, resp);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(someone_else.id().to_string()), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(pr.id().to_string()), std::string::npos) << r.error().message;
  EXPECT_TRUE(init.failed());
  EXPECT_FALSE(init.done());
  EXPECT_FALSE(resp.done());
  EXPECT_FALSE(init.receive(Bytes{0, 1, 2}));
}

// A hand-driven XX peer, to send payloads a correct implementation never would.
struct RawPeer {
  crypto::X25519PrivateKey s = crypto::X25519PrivateKey::generate();
  crypto::noise::HandshakeState hs;
  explicit RawPeer(Role role)
      : hs(crypto::noise::HandshakeState::create(crypto::noise::patterns::XX(), role, {}, s).value()) {}
  Bytes framed(BytesView payload) {
    Bytes msg = hs.write_message(payload).value();
    Bytes out;
    append_be16(out, static_cast<std::uint16_t>(msg.size()));
    append(out, msg);
    return out;
  }
  Bytes read_framed(const Bytes& frame) { return hs.read_message(BytesView(frame).subspan(2)).value(); }
};

Bytes payload_with(std::function<void(pb::noise::NoiseHandshakePayload&)> edit, const Ed25519PrivateKey& id,
                   const crypto::X25519Key& static_pub) {
  pb::noise::NoiseHandshakePayload msg;
  const Bytes key = crypto::encode_public_key_proto(id.public_key());
  msg.set_identity_key(key.data(), key.size());
  auto sig = id.sign(static_key_signature_message(static_pub));
  msg.set_identity_sig(sig.data(), sig.size());
  edit(msg);
  std::string s = msg.SerializeAsString();
  return to_bytes(s);
}

// The responder is `raw`, sending `payload` in message 2; returns the initiator's verdict.
Result<void> initiator_against(RawPeer& raw, BytesView payload, std::optional<PeerId> expected = std::nullopt) {
  Peer pi;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key, {}, std::move(expected));
  raw.read_framed(init.take_output());
  auto r = init.receive(raw.framed(payload));
  if (r) {
    EXPECT_TRUE(init.done());
  }
  return r;
}

// The initiator is `raw`, sending `payload` in message 3; returns the responder's verdict.
Result<void> responder_against(RawPeer& raw, BytesView payload) {
  Peer pr;
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  if (auto r = resp.receive(raw.framed({})); !r) return r;
  raw.read_framed(resp.take_output());
  auto r = resp.receive(raw.framed(payload));
  if (r) {
    EXPECT_TRUE(resp.done());
  }
  return r;
}

TEST(Libp2pNoise, RawPeerWithValidPayloadIsAccepted) {
  // Checks that the negative tests below fail for the reason they name, not because of the harness.
  Peer fake;
  RawPeer raw_resp(Role::responder);
  auto r = initiator_against(raw_resp, payload_with([](auto&) {}, fake.identity, raw_resp.s.public_key()), fake.id());
  EXPECT_TRUE(r) << r.error().message;

  RawPeer raw_init(Role::initiator);
  auto ri = responder_against(raw_init, payload_with([](auto&) {}, fake.identity, raw_init.s.public_key()));
  EXPECT_TRUE(ri) << ri.error().message;
}

TEST(Libp2pNoise, BadSignatureFails) {
  Peer fake;
  RawPeer raw{Role::responder};
  auto bad = payload_with([](auto& m) { m.mutable_identity_sig()->at(5) ^= 0x01; }, fake.identity, raw.s.public_key());
  auto r = initiator_against(raw, bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("identity_sig"), std::string::npos) << r.error().message;

  // A valid signature over a different static key (a replayed payload) fails too.
  RawPeer raw2{Role::initiator};
  auto replayed = payload_with([](auto&) {}, fake.identity, raw.s.public_key());
  auto r2 = responder_against(raw2, replayed);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("identity_sig"), std::string::npos) << r2.error().message;
}

TEST(Libp2pNoise, MissingPayloadFieldsFail) {
  Peer fake;
  struct Case {
    std::function<void(pb::noise::NoiseHandshakePayload&)> edit;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {[](auto& m) { m.clear_identity_key(); }, "identity_key"},
      {[](auto& m) { m.clear_identity_sig(); }, "identity_sig"},
      {[](auto& m) { m.set_identity_key(std::string("\x08\x02\x12\x01\x07", 5)); }, "identity_key"},  // secp256k1
      {[](auto& m) { m.set_identity_key("garbage"); }, "identity_key"},
      {[](auto& m) { m.set_identity_sig("short"); }, "identity_sig"},
  };
  for (const auto& c : cases) {
    RawPeer raw{Role::initiator};
    auto r = responder_against(raw, payload_with(c.edit, fake.identity, raw.s.public_key()));
    ASSERT_FALSE(r) << c.expect;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
  {
    RawPeer raw{Role::initiator};
    auto r = responder_against(raw, {});  // empty payload: no fields at all
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("identity_key"), std::string::npos) << r.error().message;
  }
  {
    RawPeer raw{Role::initiator};
    const Bytes not_protobuf{0xff, 0xff, 0xff, 0xff};
    auto r = responder_against(raw, not_protobuf);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("malformed"), std::string::npos) << r.error().message;
  }
}

TEST(Libp2pNoise, TruncatedHandshake) {
  Peer pi, pr;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key);
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  ASSERT_TRUE(resp.receive(init.take_output()));
  Bytes m2 = resp.take_output();

  // An incomplete frame is not an error: it waits for more bytes.
  ASSERT_TRUE(init.receive(BytesView(m2).first(m2.size() - 1)));
  EXPECT_FALSE(init.done());
  EXPECT_FALSE(init.has_output());

  // A complete frame whose Noise message is cut short is.
  Libp2pNoiseHandshake init2(Role::initiator, pi.static_key);
  Libp2pNoiseHandshake resp2(Role::responder, pr.static_key);
  ASSERT_TRUE(resp2.receive(init2.take_output()));
  Bytes m2b = resp2.take_output();
  Bytes cut(m2b.begin(), m2b.end() - 10);
  const std::size_t len = cut.size() - 2;
  store_be16(cut.data(), static_cast<std::uint16_t>(len));
  auto r = init2.receive(cut);
  ASSERT_FALSE(r);
  EXPECT_TRUE(init2.failed());

  // A first message shorter than an ephemeral key.
  Libp2pNoiseHandshake resp3(Role::responder, pr.static_key);
  const Bytes short_m1{0, 3, 1, 2, 3};
  EXPECT_FALSE(resp3.receive(short_m1));
  Libp2pNoiseHandshake resp4(Role::responder, pr.static_key);
  const Bytes empty_frame{0, 0};
  EXPECT_FALSE(resp4.receive(empty_frame));
}

TEST(Libp2pNoise, TamperedFrameFails) {
  for (int which = 2; which <= 3; ++which) {
    Peer pi, pr;
    Libp2pNoiseHandshake init(Role::initiator, pi.static_key);
    Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
    ASSERT_TRUE(resp.receive(init.take_output()));
    Bytes m2 = resp.take_output();
    if (which == 2) {
      m2[40] ^= 0x04;
      EXPECT_FALSE(init.receive(m2));
      EXPECT_TRUE(init.failed());
      continue;
    }
    ASSERT_TRUE(init.receive(m2));
    Bytes m3 = init.take_output();
    m3.back() ^= 0x01;
    EXPECT_FALSE(resp.receive(m3));
    EXPECT_TRUE(resp.failed());
    EXPECT_FALSE(resp.done());
  }
}

TEST(Libp2pNoise, LeftoverBytesGoToTheTransport) {
  Peer pi, pr;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key);
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  ASSERT_TRUE(resp.receive(init.take_output()));
  ASSERT_TRUE(init.receive(resp.take_output()));
  ASSERT_TRUE(init.done());
  // The initiator sends message 3 and its first transport data in one write.
  Bytes wire = init.take_output();
  auto si = init.take_transport();
  si.transport.encrypt(as_bytes("early application data"), wire);
  si.transport.encrypt(as_bytes(" and more"), wire);
  // ... which arrives in two reads, the first ending inside the transport data.
  const std::size_t split_at = wire.size() - 5;
  ASSERT_TRUE(resp.receive(BytesView(wire).first(split_at)));
  ASSERT_TRUE(resp.done());
  ASSERT_TRUE(resp.receive(BytesView(wire).subspan(split_at)));
  auto sr = resp.take_transport();
  EXPECT_FALSE(sr.leftover.empty());
  Bytes out;
  ASSERT_TRUE(sr.transport.decrypt(sr.leftover, out));
  EXPECT_EQ(out, to_bytes("early application data and more"));
}

TEST(Libp2pNoise, TakeTransportBeforeDoneThrows) {
  Peer pi;
  Libp2pNoiseHandshake init(Role::initiator, pi.static_key);
  EXPECT_THROW(init.take_transport(), std::logic_error);
}

TEST(Libp2pNoise, LargestFrameIsAccepted) {
  Peer pr;
  Libp2pNoiseHandshake resp(Role::responder, pr.static_key);
  // Two length bytes cannot announce more than 65535, so the input buffer never exceeds 2 + 65535.
  Bytes frame{0xff, 0xff};
  frame.resize(2 + 65535, 0);
  frame[2] = 9;  // the ephemeral key: X25519's base point
  auto r = resp.receive(frame);
  // -> e accepts any payload (it is ignored), so this succeeds and the responder answers.
  EXPECT_TRUE(r);
  EXPECT_TRUE(resp.has_output());
}

}  // namespace
}  // namespace stargate::p2p::noise
