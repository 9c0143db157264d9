#include "crypto/noise/handshake_state.hpp"

#include "noise_vectors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace stargate::crypto::noise {
namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  EXPECT_TRUE(from_hex(h, out)) << h;
  return out;
}

std::optional<crypto::X25519PrivateKey> private_key(std::string_view h) {
  if (h.empty()) return std::nullopt;
  return crypto::X25519PrivateKey::from_bytes(hex(h)).value();
}

std::optional<crypto::X25519Key> public_key(std::string_view h) {
  if (h.empty()) return std::nullopt;
  crypto::X25519Key k{};
  auto b = hex(h);
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

const HandshakePattern& pattern_named(std::string_view name) {
  for (const auto* p : {&patterns::X(), &patterns::NN(), &patterns::NK(), &patterns::XX(), &patterns::XK(),
                        &patterns::IK(), &patterns::IX(), &patterns::KK()})
    if (p->name == name) return *p;
  throw std::invalid_argument("unknown pattern");
}

const noise_vectors::Vector& vector_named(std::string_view name) {
  for (const auto& v : noise_vectors::all())
    if (v.pattern == name) return v;
  throw std::invalid_argument("no vector");
}

// Runs one cacophony vector: every handshake and transport message must match byte for byte, and so
// must the final handshake hash.
void run_vector(const noise_vectors::Vector& v) {
  SCOPED_TRACE(std::string(v.pattern));
  const auto& pattern = pattern_named(v.pattern);
  const Bytes prologue = hex(v.prologue);
  auto init = HandshakeState::create(pattern, Role::initiator, prologue, private_key(v.init_static),
                                     public_key(v.init_remote_static), private_key(v.init_ephemeral))
                  .value();
  auto resp = HandshakeState::create(pattern, Role::responder, prologue, private_key(v.resp_static),
                                     public_key(v.resp_remote_static), private_key(v.resp_ephemeral))
                  .value();
  EXPECT_EQ(protocol_name(pattern), "Noise_" + std::string(v.pattern) + "_25519_ChaChaPoly_SHA256");

  const std::size_t hs_len = pattern.messages.size();
  ASSERT_GT(v.messages.size(), hs_len);
  std::size_t i = 0;
  for (; i < hs_len; ++i) {
    SCOPED_TRACE("handshake message " + std::to_string(i));
    auto& writer = i % 2 == 0 ? init : resp;
    auto& reader = i % 2 == 0 ? resp : init;
    ASSERT_TRUE(writer.is_write_turn());
    ASSERT_FALSE(reader.is_write_turn());
    auto msg = writer.write_message(hex(v.messages[i].payload));
    ASSERT_TRUE(msg) << msg.error().message;
    EXPECT_EQ(to_hex(*msg), v.messages[i].ciphertext);
    auto payload = reader.read_message(*msg);
    ASSERT_TRUE(payload) << payload.error().message;
    EXPECT_EQ(to_hex(*payload), v.messages[i].payload);
  }
  ASSERT_TRUE(init.is_complete());
  ASSERT_TRUE(resp.is_complete());
  EXPECT_EQ(to_hex(init.handshake_hash()), v.handshake_hash);
  EXPECT_EQ(to_hex(resp.handshake_hash()), v.handshake_hash);
  if (!v.resp_static.empty()) {
    EXPECT_EQ(init.remote_static(), private_key(v.resp_static)->public_key());
  }
  if (!v.init_static.empty()) {
    EXPECT_EQ(resp.remote_static(), private_key(v.init_static)->public_key());
  }

  auto [init_send, init_recv] = init.split();
  auto [resp_send, resp_recv] = resp.split();
  const bool one_way = hs_len == 1;  // X: only the initiator ever sends
  for (; i < v.messages.size(); ++i) {
    SCOPED_TRACE("transport message " + std::to_string(i));
    const bool from_initiator = one_way || i % 2 == 0;
    auto& send = from_initiator ? init_send : resp_send;
    auto& recv = from_initiator ? resp_recv : init_recv;
    auto ct = send.encrypt_with_ad({}, hex(v.messages[i].payload));
    ASSERT_TRUE(ct);
    EXPECT_EQ(to_hex(*ct), v.messages[i].ciphertext);
    auto pt = recv.decrypt_with_ad({}, *ct);
    ASSERT_TRUE(pt);
    EXPECT_EQ(to_hex(*pt), v.messages[i].payload);
  }
}

TEST(NoiseVectors, XX_25519_ChaChaPoly_SHA256) { run_vector(vector_named("XX")); }
TEST(NoiseVectors, IK_25519_ChaChaPoly_SHA256) { run_vector(vector_named("IK")); }
TEST(NoiseVectors, NN_25519_ChaChaPoly_SHA256) { run_vector(vector_named("NN")); }
TEST(NoiseVectors, NK_25519_ChaChaPoly_SHA256) { run_vector(vector_named("NK")); }
TEST(NoiseVectors, XK_25519_ChaChaPoly_SHA256) { run_vector(vector_named("XK")); }
TEST(NoiseVectors, IX_25519_ChaChaPoly_SHA256) { run_vector(vector_named("IX")); }
TEST(NoiseVectors, KK_25519_ChaChaPoly_SHA256) { run_vector(vector_named("KK")); }
TEST(NoiseVectors, X_25519_ChaChaPoly_SHA256) { run_vector(vector_named("X")); }

// ---- end to end with fresh keys ----

struct Pair {
  HandshakeState init;
  HandshakeState resp;
};

Pair make_pair(const HandshakePattern& p, BytesView prologue = {}) {
  auto is = crypto::X25519PrivateKey::generate();
  auto rs = crypto::X25519PrivateKey::generate();
  auto init = HandshakeState::create(p, Role::initiator, prologue, is, rs.public_key()).value();
  auto resp = HandshakeState::create(p, Role::responder, prologue, rs, is.public_key()).value();
  return {std::move(init), std::move(resp)};
}

void run_to_completion(Pair& pair) {
  for (std::size_t i = 0; !pair.init.is_complete(); ++i) {
    auto& writer = i % 2 == 0 ? pair.init : pair.resp;
    auto& reader = i % 2 == 0 ? pair.resp : pair.init;
    const Bytes payload = to_bytes("payload " + std::to_string(i));
    auto msg = writer.write_message(payload);
    ASSERT_TRUE(msg) << msg.error().message;
    auto got = reader.read_message(*msg);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(*got, payload);
  }
  ASSERT_TRUE(pair.resp.is_complete());
}

void check_transport(Pair& pair) {
  EXPECT_EQ(pair.init.handshake_hash(), pair.resp.handshake_hash());
  auto [is, ir] = pair.init.split();
  auto [rs, rr] = pair.resp.split();
  auto ct = is.encrypt_with_ad({}, as_bytes("to responder")).value();
  EXPECT_EQ(rr.decrypt_with_ad({}, ct).value(), to_bytes("to responder"));
  ct = rs.encrypt_with_ad({}, as_bytes("to initiator")).value();
  EXPECT_EQ(ir.decrypt_with_ad({}, ct).value(), to_bytes("to initiator"));
  // Directions use distinct keys: the initiator cannot open its own message.
  CipherState& own = ir;
  auto mine = is.encrypt_with_ad({}, as_bytes("x")).value();
  EXPECT_FALSE(own.decrypt_with_ad({}, mine));
}

TEST(HandshakeState, XXEndToEnd) {
  auto pair = make_pair(patterns::XX());
  run_to_completion(pair);
  check_transport(pair);
}

TEST(HandshakeState, IKEndToEnd) {
  auto pair = make_pair(patterns::IK());
  run_to_completion(pair);
  check_transport(pair);
}

// The one-way X: a single message completes both sides; the responder learns the sender's static key,
// and only the initiator's direction carries data.
TEST(HandshakeState, XOneWayEndToEnd) {
  auto is = crypto::X25519PrivateKey::generate();
  auto rs = crypto::X25519PrivateKey::generate();
  auto init = HandshakeState::create(patterns::X(), Role::initiator, as_bytes("p"), is, rs.public_key()).value();
  auto resp = HandshakeState::create(patterns::X(), Role::responder, as_bytes("p"), rs).value();
  auto m1 = init.write_message(as_bytes("one way")).value();
  EXPECT_EQ(m1.size(), 32u + 48u + 7u + 16u);
  EXPECT_TRUE(init.is_complete());
  EXPECT_EQ(resp.read_message(m1).value(), to_bytes("one way"));
  EXPECT_TRUE(resp.is_complete());
  EXPECT_EQ(resp.remote_static(), is.public_key());
  EXPECT_EQ(init.handshake_hash(), resp.handshake_hash());
  auto [send, unused_recv] = init.split();
  auto [unused_send, recv] = resp.split();
  auto ct = send.encrypt_with_ad(as_bytes("ad"), as_bytes("later")).value();
  EXPECT_EQ(recv.decrypt_with_ad(as_bytes("ad"), ct).value(), to_bytes("later"));

  // Sealed to another key, it does not open.
  auto other = crypto::X25519PrivateKey::generate();
  auto init2 = HandshakeState::create(patterns::X(), Role::initiator, {}, is, other.public_key()).value();
  auto resp2 = HandshakeState::create(patterns::X(), Role::responder, {}, rs).value();
  EXPECT_FALSE(resp2.read_message(init2.write_message(as_bytes("x")).value()));
  EXPECT_FALSE(HandshakeState::create(patterns::X(), Role::initiator, {}, is));  // needs the responder's key
  EXPECT_FALSE(HandshakeState::create(patterns::X(), Role::responder, {}, std::nullopt));
}

TEST(HandshakeState, XXLearnsRemoteStatics) {
  auto is = crypto::X25519PrivateKey::generate();
  auto rs = crypto::X25519PrivateKey::generate();
  Pair pair{HandshakeState::create(patterns::XX(), Role::initiator, {}, is).value(),
            HandshakeState::create(patterns::XX(), Role::responder, {}, rs).value()};
  EXPECT_FALSE(pair.init.remote_static());
  run_to_completion(pair);
  EXPECT_EQ(pair.init.remote_static(), rs.public_key());
  EXPECT_EQ(pair.resp.remote_static(), is.public_key());
}

TEST(HandshakeState, PrologueMismatchFails) {
  auto is = crypto::X25519PrivateKey::generate();
  auto rs = crypto::X25519PrivateKey::generate();
  auto init = HandshakeState::create(patterns::XX(), Role::initiator, as_bytes("A"), is).value();
  auto resp = HandshakeState::create(patterns::XX(), Role::responder, as_bytes("B"), rs).value();
  auto m1 = init.write_message({}).value();
  ASSERT_TRUE(resp.read_message(m1));  // message 1 has no key yet, so it cannot notice
  auto m2 = resp.write_message({}).value();
  auto r = init.read_message(m2);
  EXPECT_FALSE(r);
  EXPECT_TRUE(init.failed());
}

TEST(HandshakeState, IKWrongResponderKeyFails) {
  auto is = crypto::X25519PrivateKey::generate();
  auto rs = crypto::X25519PrivateKey::generate();
  auto other = crypto::X25519PrivateKey::generate();
  auto init = HandshakeState::create(patterns::IK(), Role::initiator, {}, is, other.public_key()).value();
  auto resp = HandshakeState::create(patterns::IK(), Role::responder, {}, rs).value();
  auto m1 = init.write_message(as_bytes("hi")).value();
  auto r = resp.read_message(m1);
  ASSERT_FALSE(r);
  EXPECT_TRUE(resp.failed());
  EXPECT_FALSE(resp.write_message({}));  // a failed handshake stays failed
}

TEST(HandshakeState, TamperedMessageFails) {
  for (std::size_t msg_index = 0; msg_index < 3; ++msg_index) {
    auto pair = make_pair(patterns::XX());
    Bytes payload = to_bytes("p");
    for (std::size_t i = 0; i < 3; ++i) {
      auto& writer = i % 2 == 0 ? pair.init : pair.resp;
      auto& reader = i % 2 == 0 ? pair.resp : pair.init;
      auto msg = writer.write_message(payload).value();
      if (i == msg_index) {
        msg.back() ^= 0x80;  // in the payload's tag (message 1: the plaintext payload, hashed)
        auto r = reader.read_message(msg);
        if (i == 0) {
          // Message 1 carries no tag, but the transcript hash now differs: message 2 must fail.
          ASSERT_TRUE(r);
          auto m2 = pair.resp.write_message(payload).value();
          EXPECT_FALSE(pair.init.read_message(m2));
        } else {
          EXPECT_FALSE(r);
          EXPECT_TRUE(reader.failed());
        }
        break;
      }
      ASSERT_TRUE(reader.read_message(msg));
    }
  }
}

TEST(HandshakeState, TruncatedMessagesFail) {
  auto pair = make_pair(patterns::XX());
  auto m1 = pair.init.write_message({}).value();
  ASSERT_TRUE(pair.resp.read_message(m1));
  auto m2 = pair.resp.write_message({}).value();
  ASSERT_EQ(m2.size(), 32u + 48u + 16u);
  for (std::size_t cut : {0u, 10u, 31u, 32u, 60u, 79u, 80u, 95u}) {
    auto init_copy = HandshakeState::create(patterns::XX(), Role::initiator, {},
                                            crypto::X25519PrivateKey::generate())
                         .value();
    // A fresh initiator cannot read this message anyway; what matters is the error, not a crash.
    (void)init_copy.write_message({});
    auto r = init_copy.read_message(BytesView(m2).first(cut));
    EXPECT_FALSE(r) << cut;
  }
  auto r = pair.init.read_message(BytesView(m2).first(m2.size() - 1));
  EXPECT_FALSE(r);
  EXPECT_TRUE(pair.init.failed());

  auto resp = HandshakeState::create(patterns::XX(), Role::responder, {}, crypto::X25519PrivateKey::generate()).value();
  EXPECT_FALSE(resp.read_message(BytesView(m1).first(31)));
}

TEST(HandshakeState, LowOrderEphemeralRejected) {
  auto resp = HandshakeState::create(patterns::XX(), Role::responder, {}, crypto::X25519PrivateKey::generate()).value();
  ASSERT_TRUE(resp.read_message(Bytes(32, 0)));  // -> e: the all-zero point is only hashed here
  auto r = resp.write_message({});               // <- e, ee: DH with it gives all zeros
  ASSERT_FALSE(r);
  EXPECT_TRUE(resp.failed());

  auto init = HandshakeState::create(patterns::XX(), Role::initiator, {}, crypto::X25519PrivateKey::generate()).value();
  (void)init.write_message({});
  Bytes m2(32 + 48 + 16, 0);
  m2[0] = 1;  // the point of order 1 (u = 1) is low order too
  EXPECT_FALSE(init.read_message(m2));
}

TEST(HandshakeState, OutOfTurnAndAfterCompletion) {
  auto pair = make_pair(patterns::XX());
  EXPECT_FALSE(pair.resp.write_message({}));
  EXPECT_TRUE(pair.resp.failed());

  auto p2 = make_pair(patterns::NN());
  run_to_completion(p2);
  EXPECT_FALSE(p2.init.write_message({}));
  EXPECT_FALSE(p2.resp.read_message(Bytes(48, 0)));
}

TEST(HandshakeState, OversizedMessagesRejected) {
  auto pair = make_pair(patterns::XX());
  EXPECT_FALSE(pair.init.write_message(Bytes(65535 - 32 + 1, 0)));
  auto p2 = make_pair(patterns::XX());
  EXPECT_TRUE(p2.init.write_message(Bytes(65535 - 32, 0)));  // exactly 65535: allowed
  auto p3 = make_pair(patterns::XX());
  EXPECT_FALSE(p3.resp.read_message(Bytes(65536, 1)));
}

TEST(HandshakeState, MissingKeysAreReportedAtCreation) {
  EXPECT_FALSE(HandshakeState::create(patterns::XX(), Role::initiator, {}, std::nullopt));
  EXPECT_FALSE(HandshakeState::create(patterns::IK(), Role::initiator, {}, crypto::X25519PrivateKey::generate()));
  EXPECT_TRUE(HandshakeState::create(patterns::NN(), Role::initiator, {}, std::nullopt));
  EXPECT_TRUE(HandshakeState::create(patterns::NK(), Role::initiator, {}, std::nullopt,
                                     crypto::X25519PrivateKey::generate().public_key()));
  EXPECT_FALSE(HandshakeState::create(patterns::NK(), Role::responder, {}, std::nullopt));
}

TEST(HandshakeState, SetEphemeralFixesTheKeyUntilItIsSent) {
  auto pair = make_pair(patterns::XX());
  const auto e = crypto::X25519PrivateKey::generate();
  Bytes m1 = pair.init.write_message({}).value();
  ASSERT_TRUE(pair.resp.read_message(m1));
  ASSERT_TRUE(pair.resp.set_ephemeral(e));  // after checking the peer's message, before `<- e`
  Bytes m2 = pair.resp.write_message({}).value();
  EXPECT_TRUE(std::equal(e.public_key().begin(), e.public_key().end(), m2.begin()));
  EXPECT_FALSE(pair.resp.set_ephemeral(crypto::X25519PrivateKey::generate()));  // already sent
  ASSERT_TRUE(pair.init.read_message(m2));
  EXPECT_EQ(*pair.init.remote_ephemeral(), e.public_key());
  run_to_completion(pair);
}

TEST(HandshakeState, SplitBeforeCompletionThrows) {
  auto pair = make_pair(patterns::XX());
  EXPECT_THROW(pair.init.split(), std::logic_error);
}

}  // namespace
}  // namespace stargate::crypto::noise
