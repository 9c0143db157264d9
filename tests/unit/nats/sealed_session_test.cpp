#include "nats/sealed/session_table.hpp"

#include "crypto/peer_id.hpp"
#include "nats/sealed/replay_window.hpp"
#include "nats/sealed/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace stargate::nats::sealed {
namespace {

using namespace std::chrono_literals;

const TimePoint session_start = TimePoint{} + std::chrono::seconds(1'700'000'000);

struct Agent {
  crypto::Ed25519PrivateKey identity = crypto::Ed25519PrivateKey::generate();
  crypto::X25519PrivateKey static_key = crypto::X25519PrivateKey::generate();
  std::unique_ptr<SessionTable> table;

  explicit Agent(Config c = {}) : table(std::make_unique<SessionTable>(static_key, identity, c)) {}
  SessionTable* operator->() { return table.get(); }
  const crypto::X25519Key& pub() const { return static_key.public_key(); }
  // Same keys, empty state: the process restarted.
  void restart(Config c = {}) { table = std::make_unique<SessionTable>(static_key, identity, c); }
};

std::string text(const Bytes& b) { return std::string(as_string(b)); }

bool contains_substring(const Bytes& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

Errc code_of(const SealResult<Opened>& r) { return r.error().code; }

// One request and its response; returns the caller's handle.
SessionHandle exchange(Agent& caller, Agent& callee, const std::string& req, const std::string& resp,
                       TimePoint now = session_start) {
  auto sealed = caller->seal_request(callee.pub(), as_bytes(req), now).value();
  auto in = callee->open(sealed.wire, now).value();
  EXPECT_EQ(text(in.plaintext), req);
  auto out = callee->seal_response(in.session, as_bytes(resp), now).value();
  auto back = caller->open(out, now).value();
  EXPECT_EQ(text(back.plaintext), resp);
  EXPECT_EQ(back.session, sealed.session);
  return sealed.session;
}

TEST(SealedSession, FullRoundTripAuthenticatesTheCaller) {
  Agent caller, callee;
  auto s1 = caller->seal_request(callee.pub(), as_bytes("request one"), session_start).value();
  EXPECT_TRUE(s1.handshake);
  EXPECT_EQ(s1.wire[0], static_cast<std::uint8_t>(MessageType::initiation));
  EXPECT_EQ(s1.wire.size(), initiation_overhead + 11);

  auto in1 = callee->open(s1.wire, session_start).value();
  EXPECT_EQ(text(in1.plaintext), "request one");
  EXPECT_TRUE(in1.was_handshake);
  EXPECT_EQ(in1.type, MessageType::initiation);
  EXPECT_EQ(in1.role, SessionRole::responder);
  EXPECT_EQ(in1.peer_static, caller.pub());
  ASSERT_TRUE(in1.peer.has_value());
  EXPECT_EQ(in1.peer->public_key, caller.identity.public_key());
  EXPECT_EQ(in1.peer->agent_id, crypto::agent_id(caller.identity.public_key()));
  EXPECT_EQ(in1.peer->peer_id, crypto::PeerId::from_public_key(caller.identity.public_key()).to_string());

  auto r1 = callee->seal_response(in1.session, as_bytes("response one"), session_start).value();
  EXPECT_EQ(r1[0], static_cast<std::uint8_t>(MessageType::response));
  EXPECT_EQ(r1.size(), response_overhead + 12);
  auto back1 = caller->open(r1, session_start).value();
  EXPECT_EQ(text(back1.plaintext), "response one");
  EXPECT_EQ(back1.type, MessageType::response);
  EXPECT_EQ(back1.role, SessionRole::initiator);
  EXPECT_EQ(back1.peer_static, callee.pub());
  EXPECT_EQ(back1.session, s1.session);

  // Established: both directions now use transport messages.
  auto s2 = caller->seal_request(callee.pub(), as_bytes("request two"), session_start + 1s).value();
  EXPECT_FALSE(s2.handshake);
  EXPECT_EQ(s2.session, s1.session);
  EXPECT_EQ(s2.wire[0], static_cast<std::uint8_t>(MessageType::transport));
  EXPECT_EQ(s2.wire.size(), transport_overhead + 11);
  auto in2 = callee->open(s2.wire, session_start + 1s).value();
  EXPECT_EQ(text(in2.plaintext), "request two");
  EXPECT_FALSE(in2.was_handshake);
  EXPECT_EQ(in2.session, in1.session);
  ASSERT_TRUE(in2.peer.has_value());
  EXPECT_EQ(in2.peer->agent_id, crypto::agent_id(caller.identity.public_key()));
  auto r2 = callee->seal_response(in2.session, as_bytes("response two"), session_start + 1s).value();
  EXPECT_EQ(r2[0], static_cast<std::uint8_t>(MessageType::transport));
  EXPECT_EQ(text(caller->open(r2, session_start + 1s).value().plaintext), "response two");
  EXPECT_EQ(caller->session_count(), 1u);
  EXPECT_EQ(callee->session_count(), 1u);
}

TEST(SealedSession, CalleeIdentityIsReportedWhenTheCallerNamesIt) {
  Agent caller, callee;
  auto s = caller->seal_request(callee.pub(), as_bytes("x"), session_start, callee.identity.public_key()).value();
  auto in = callee->open(s.wire, session_start).value();
  auto back = caller->open(callee->seal_response(in.session, as_bytes("y"), session_start).value(), session_start).value();
  ASSERT_TRUE(back.peer.has_value());
  EXPECT_EQ(back.peer->agent_id, crypto::agent_id(callee.identity.public_key()));
}

TEST(SealedSession, ManyMessagesBothWays) {
  Agent caller, callee;
  exchange(caller, callee, "hello", "hi");
  SessionHandle callee_session{};
  for (int i = 0; i < 300; ++i) {
    const std::string req = "req-" + std::to_string(i);
    auto s = caller->seal_request(callee.pub(), as_bytes(req), session_start + 2s).value();
    auto in = callee->open(s.wire, session_start + 2s).value();
    EXPECT_EQ(text(in.plaintext), req);
    callee_session = in.session;
    // Several messages back for one request (e.g. chunks or notifications).
    for (int j = 0; j < 2; ++j) {
      const std::string resp = "resp-" + std::to_string(i) + "-" + std::to_string(j);
      auto back = caller->open(callee->seal_response(in.session, as_bytes(resp), session_start + 2s).value(), session_start + 2s).value();
      EXPECT_EQ(text(back.plaintext), resp);
    }
  }
  // The caller may also push more on its session handle, and an empty message is fine.
  auto s = caller->seal_request(callee.pub(), {}, session_start + 3s).value();
  EXPECT_TRUE(callee->open(s.wire, session_start + 3s).value().plaintext.empty());
  EXPECT_EQ(callee->session_count(), 1u);
  (void)callee_session;
}

TEST(SealedSession, ReorderedMessagesAreAcceptedOnceEach) {
  Agent caller, callee;
  exchange(caller, callee, "a", "b");
  std::vector<Bytes> wires;
  for (int i = 0; i < 500; ++i) wires.push_back(caller->seal_request(callee.pub(), as_bytes(std::to_string(i)), session_start).value().wire);
  std::mt19937 rng(42);
  std::shuffle(wires.begin(), wires.end(), rng);
  std::vector<int> seen;
  for (const Bytes& w : wires) seen.push_back(std::stoi(text(callee->open(w, session_start).value().plaintext)));
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
  for (const Bytes& w : wires) EXPECT_EQ(code_of(callee->open(w, session_start)), Errc::replay);
}

TEST(SealedSession, ReplayedTransportMessageIsRejected) {
  Agent caller, callee;
  exchange(caller, callee, "a", "b");
  auto s = caller->seal_request(callee.pub(), as_bytes("transfer 100"), session_start).value();
  auto in = callee->open(s.wire, session_start).value();
  auto replay = callee->open(s.wire, session_start);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, Errc::replay);
  // And the same for a response replayed to the caller.
  auto r = callee->seal_response(in.session, as_bytes("ok"), session_start).value();
  EXPECT_TRUE(caller->open(r, session_start));
  EXPECT_EQ(code_of(caller->open(r, session_start)), Errc::replay);
}

TEST(SealedSession, MessagesFarBehindTheWindowAreRejected) {
  Agent caller, callee;
  exchange(caller, callee, "a", "b");
  auto old = caller->seal_request(callee.pub(), as_bytes("old"), session_start).value().wire;
  Bytes last;
  for (std::uint64_t i = 0; i < ReplayWindow::window_size + 1; ++i)
    last = caller->seal_request(callee.pub(), as_bytes("x"), session_start).value().wire;
  EXPECT_TRUE(callee->open(last, session_start));
  EXPECT_EQ(code_of(callee->open(old, session_start)), Errc::replay);
}

TEST(SealedSession, ReplayedInitiationIsRejected) {
  Agent caller, callee;
  auto s = caller->seal_request(callee.pub(), as_bytes("first"), session_start).value();
  auto in = callee->open(s.wire, session_start).value();
  // While the callee still holds the session: the same counter again.
  EXPECT_EQ(code_of(callee->open(s.wire, session_start + 1s)), Errc::replay);
  // Once the callee lost the session, the timestamp catches it.
  callee->forget(in.session);
  EXPECT_EQ(callee->session_count(), 0u);
  auto again = callee->open(s.wire, session_start + 1s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::replay);
  EXPECT_NE(again.error().message.find("timestamp"), std::string::npos);
  EXPECT_EQ(callee->session_count(), 0u);
}

TEST(SealedSession, OlderHandshakeFromTheSameCallerIsRejected) {
  Agent caller, callee;
  // A second process with the same keys whose handshake is older than one already accepted.
  SessionTable twin(caller.static_key, caller.identity);
  auto older = twin.seal_request(callee.pub(), as_bytes("older"), session_start).value();
  auto newer = caller->seal_request(callee.pub(), as_bytes("newer"), session_start + 1ms).value();
  EXPECT_TRUE(callee->open(newer.wire, session_start + 1s));
  EXPECT_EQ(code_of(callee->open(older.wire, session_start + 1s)), Errc::replay);
  // Equal timestamps are refused too.
  SessionTable twin2(caller.static_key, caller.identity);
  auto same = twin2.seal_request(callee.pub(), as_bytes("same"), session_start + 1ms).value();
  EXPECT_EQ(code_of(callee->open(same.wire, session_start + 1s)), Errc::replay);
}

TEST(SealedSession, StaleTimestampIsRejected) {
  Config c;
  c.clock_skew = 120s;
  Agent caller, callee(c);
  auto s = caller->seal_request(callee.pub(), as_bytes("late"), session_start).value();
  auto late = callee->open(s.wire, session_start + 121s);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::stale_timestamp);
  auto early = callee->open(s.wire, session_start - 121s);  // the caller's clock runs ahead
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::stale_timestamp);
  EXPECT_EQ(callee->session_count(), 0u);
  EXPECT_TRUE(callee->open(s.wire, session_start + 119s));  // within the tolerance
}

// Flips one bit at every position of `wire` and checks that `open` never accepts the result.
template <class Open>
void expect_every_flip_rejected(const Bytes& wire, Open open) {
  for (std::size_t i = 0; i < wire.size(); ++i) {
    Bytes bad = wire;
    bad[i] ^= 0x04;
    auto r = open(bad);
    ASSERT_FALSE(r) << "byte " << i << " flipped was accepted";
    const Errc c = r.error().code;
    EXPECT_TRUE(c == Errc::malformed || c == Errc::authentication_failed || c == Errc::unknown_session ||
                c == Errc::replay || c == Errc::bad_signature)
        << "byte " << i << ": " << to_string(c);
  }
  Bytes truncated(wire.begin(), wire.end() - 1);
  EXPECT_FALSE(open(truncated));
  Bytes extended = wire;
  extended.push_back(0);
  EXPECT_FALSE(open(extended));
}

TEST(SealedSession, TamperedInitiationIsRejectedAndTheGenuineOneStillWorks) {
  Agent caller, callee;
  auto s = caller->seal_request(callee.pub(), as_bytes("tamper me"), session_start).value();
  expect_every_flip_rejected(s.wire, [&](const Bytes& w) { return callee->open(w, session_start); });
  EXPECT_EQ(callee->session_count(), 0u);
  EXPECT_EQ(callee->timestamp_count(), 0u);
  EXPECT_EQ(text(callee->open(s.wire, session_start).value().plaintext), "tamper me");
}

TEST(SealedSession, TamperedEarlyRequestIsRejected) {
  Agent caller, callee;
  auto s1 = caller->seal_request(callee.pub(), as_bytes("one"), session_start).value();
  auto s2 = caller->seal_request(callee.pub(), as_bytes("two"), session_start).value();  // same handshake, counter 1
  ASSERT_TRUE(callee->open(s1.wire, session_start));
  expect_every_flip_rejected(s2.wire, [&](const Bytes& w) { return callee->open(w, session_start); });
  EXPECT_EQ(text(callee->open(s2.wire, session_start).value().plaintext), "two");
}

TEST(SealedSession, TamperedResponseDoesNotSpoilTheHandshake) {
  Agent caller, callee;
  auto s = caller->seal_request(callee.pub(), as_bytes("q"), session_start).value();
  auto in = callee->open(s.wire, session_start).value();
  auto r = callee->seal_response(in.session, as_bytes("answer"), session_start).value();
  expect_every_flip_rejected(r, [&](const Bytes& w) { return caller->open(w, session_start); });
  EXPECT_EQ(text(caller->open(r, session_start).value().plaintext), "answer");
  // Then the session works.
  auto s2 = caller->seal_request(callee.pub(), as_bytes("q2"), session_start).value();
  EXPECT_FALSE(s2.handshake);
  EXPECT_EQ(text(callee->open(s2.wire, session_start).value().plaintext), "q2");
}

TEST(SealedSession, TamperedTransportMessageIsRejected) {
  Agent caller, callee;
  exchange(caller, callee, "a", "b");
  auto s = caller->seal_request(callee.pub(), as_bytes("pay 10"), session_start).value();
  expect_every_flip_rejected(s.wire, [&](const Bytes& w) { return callee->open(w, session_start); });
  auto in = callee->open(s.wire, session_start).value();
  EXPECT_EQ(text(in.plaintext), "pay 10");
  auto r = callee->seal_response(in.session, as_bytes("paid"), session_start).value();
  expect_every_flip_rejected(r, [&](const Bytes& w) { return caller->open(w, session_start); });
  EXPECT_EQ(text(caller->open(r, session_start).value().plaintext), "paid");
}

TEST(SealedSession, WrongCalleeStaticKeyFails) {
  Agent caller, callee, other;
  auto s = caller->seal_request(other.pub(), as_bytes("for other"), session_start).value();
  auto r = callee->open(s.wire, session_start);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::authentication_failed);
  EXPECT_TRUE(other->open(s.wire, session_start));
}

TEST(SealedSession, ForgedCallerIdentityIsRejected) {
  Agent caller, callee, victim;
  // The caller claims the victim's identity but can only sign with its own key.
  const Bytes msg = static_key_signature_message(caller.pub());
  SessionTable forger(caller.static_key, victim.identity.public_key(), caller.identity.sign(msg));
  auto s = forger.seal_request(callee.pub(), as_bytes("i am the victim"), session_start).value();
  auto r = callee->open(s.wire, session_start);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::bad_signature);

  // Nor can it reuse the victim's genuine signature, which covers the victim's static key.
  SessionTable copier(caller.static_key, victim.identity.public_key(),
                      victim.identity.sign(static_key_signature_message(victim.pub())));
  auto s2 = copier.seal_request(callee.pub(), as_bytes("i am the victim"), session_start + 1ms).value();
  EXPECT_EQ(code_of(callee->open(s2.wire, session_start)), Errc::bad_signature);
  EXPECT_EQ(callee->session_count(), 0u);
  EXPECT_EQ(callee->timestamp_count(), 0u);  // a rejected handshake leaves no trace
}

TEST(SealedSession, UnknownSessionThenFreshHandshakeRecovers) {
  Agent caller, callee;
  exchange(caller, callee, "a", "b");
  callee.restart();  // the callee lost every session
  auto s = caller->seal_request(callee.pub(), as_bytes("after restart"), session_start + 5s).value();
  EXPECT_FALSE(s.handshake);
  auto r = callee->open(s.wire, session_start + 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unknown_session);
  // The agent layer tells the caller; the caller forgets that session and calls again.
  caller->forget(s.session);
  EXPECT_FALSE(caller->contains(s.session));
  auto retry = caller->seal_request(callee.pub(), as_bytes("after restart"), session_start + 5s).value();
  EXPECT_TRUE(retry.handshake);
  auto in = callee->open(retry.wire, session_start + 5s).value();
  EXPECT_EQ(text(in.plaintext), "after restart");
  EXPECT_EQ(text(caller->open(callee->seal_response(in.session, as_bytes("ok"), session_start + 5s).value(), session_start + 5s)
                     .value()
                     .plaintext),
            "ok");
}

TEST(SealedSession, UnknownSessionForAResponseAfterTheCallerForgot) {
  Agent caller, callee;
  auto s = caller->seal_request(callee.pub(), as_bytes("a"), session_start).value();
  auto in = callee->open(s.wire, session_start).value();
  caller->forget(s.session);
  EXPECT_EQ(code_of(caller->open(callee->seal_response(in.session, as_bytes("b"), session_start).value(), session_start)),
            Errc::unknown_session);
}

TEST(SealedSession, ObserverCannotFindThePlaintext) {
  Agent caller, callee;
  const std::string request =
      R"({"jsonrpc":"2.0","method":"secret.transfer","params":{"account":"ACME-4242"},"id":7})";
  const std::string response = R"({"jsonrpc":"2.0","result":{"balance":"TOPSECRET-991"},"id":7})";
  for (int round = 0; round < 2; ++round) {  // handshake messages, then transport messages
    auto s = caller->seal_request(callee.pub(), as_bytes(request), session_start).value();
    EXPECT_EQ(s.handshake, round == 0);
    for (std::string_view needle : {"secret.transfer", "ACME-4242", "jsonrpc", "method"})
      EXPECT_FALSE(contains_substring(s.wire, needle)) << needle;
    auto in = callee->open(s.wire, session_start).value();
    auto r = callee->seal_response(in.session, as_bytes(response), session_start).value();
    for (std::string_view needle : {"TOPSECRET-991", "balance", "jsonrpc"})
      EXPECT_FALSE(contains_substring(r, needle)) << needle;
    EXPECT_EQ(text(caller->open(r, session_start).value().plaintext), response);
  }
  // The caller's identity is not in clear either (only inside the encrypted handshake payload).
  SessionTable fresh(crypto::X25519PrivateKey::generate(), caller.identity);
  auto s = fresh.seal_request(callee.pub(), as_bytes("x"), session_start + 1s).value();
  const auto& id = caller.identity.public_key().bytes();
  EXPECT_EQ(std::search(s.wire.begin(), s.wire.end(), id.begin(), id.end()), s.wire.end());
}

TEST(SealedSession, ConcurrentFirstRequestsShareOneHandshakeInAnyOrder) {
  Agent caller, callee;
  std::vector<Sealed> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(caller->seal_request(callee.pub(), as_bytes("c" + std::to_string(i)), session_start).value());
  for (const auto& s : sent) {
    EXPECT_TRUE(s.handshake);
    EXPECT_EQ(s.session, sent[0].session);
  }
  // The first one is lost; the rest arrive in reverse order.
  std::vector<Bytes> responses;
  SessionHandle callee_session{};
  for (int i = 4; i >= 1; --i) {
    auto in = callee->open(sent[static_cast<std::size_t>(i)].wire, session_start).value();
    EXPECT_EQ(text(in.plaintext), "c" + std::to_string(i));
    if (i == 4) callee_session = in.session;
    EXPECT_EQ(in.session, callee_session);
    responses.push_back(callee->seal_response(in.session, as_bytes("r" + std::to_string(i)), session_start).value());
  }
  EXPECT_EQ(callee->session_count(), 1u);
  // The late-arriving first one still opens (same session), once.
  EXPECT_TRUE(callee->open(sent[0].wire, session_start));
  EXPECT_EQ(code_of(callee->open(sent[0].wire, session_start)), Errc::replay);
  // Responses, all carrying IK message 2, reach the caller in another order.
  std::reverse(responses.begin(), responses.end());
  for (const Bytes& r : responses) {
    EXPECT_EQ(r[0], static_cast<std::uint8_t>(MessageType::response));
    EXPECT_TRUE(caller->open(r, session_start));
  }
  auto next = caller->seal_request(callee.pub(), as_bytes("now transport"), session_start).value();
  EXPECT_FALSE(next.handshake);
  EXPECT_TRUE(callee->open(next.wire, session_start));
}

TEST(SealedSession, RekeysAfterTimeAndExpiresOldSessions) {
  Config c;
  c.rekey_after_time = 120s;
  c.reject_after_time = 600s;
  Agent caller(c), callee(c);
  const SessionHandle first = exchange(caller, callee, "a", "b");
  // A request sent just before the rekey point, answered long after.
  auto late_req = caller->seal_request(callee.pub(), as_bytes("slow"), session_start + 119s).value();
  EXPECT_EQ(late_req.session, first);
  auto late_in = callee->open(late_req.wire, session_start + 119s).value();

  auto s = caller->seal_request(callee.pub(), as_bytes("rekey"), session_start + 121s).value();
  EXPECT_TRUE(s.handshake);
  EXPECT_NE(s.session, first);
  auto in = callee->open(s.wire, session_start + 121s).value();
  EXPECT_TRUE(caller->open(callee->seal_response(in.session, as_bytes("ok"), session_start + 121s).value(), session_start + 121s));
  // The old session still carries the slow answer.
  auto slow = callee->seal_response(late_in.session, as_bytes("slow answer"), session_start + 300s).value();
  EXPECT_EQ(text(caller->open(slow, session_start + 300s).value().plaintext), "slow answer");
  // Past its lifetime it is gone on both sides.
  auto expired = callee->seal_response(late_in.session, as_bytes("too late"), session_start + 601s);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::session_expired);
  auto stale_wire = callee->seal_response(in.session, as_bytes("fine"), session_start + 601s).value();  // new session: alive
  EXPECT_TRUE(caller->open(stale_wire, session_start + 601s));
  EXPECT_FALSE(callee->contains(late_in.session));  // dropped when it was found expired
  EXPECT_TRUE(caller->contains(first));
  EXPECT_EQ(caller->prune(session_start + 601s), 1u);  // the caller's first session (created at session_start)
  EXPECT_FALSE(caller->contains(first));
  EXPECT_EQ(caller->prune(session_start + 800s), 1u);  // the second one (created at session_start + 121 s)
  EXPECT_EQ(caller->session_count(), 0u);
}

TEST(SealedSession, TransportToAnExpiredSessionIsUnknown) {
  Config c;
  c.rekey_after_time = 1000s;  // the caller keeps using it (as if its settings differ); the callee refuses
  c.reject_after_time = 2000s;
  Agent caller(c), callee;
  exchange(caller, callee, "a", "b");
  auto s = caller->seal_request(callee.pub(), as_bytes("x"), session_start + 700s).value();
  EXPECT_FALSE(s.handshake);
  EXPECT_EQ(code_of(callee->open(s.wire, session_start + 700s)), Errc::unknown_session);
  EXPECT_EQ(callee->session_count(), 0u);
}

TEST(SealedSession, PendingHandshakeIsReplacedAfterTheTimeout) {
  Config c;
  c.handshake_timeout = 15s;
  Agent caller(c), callee;
  auto a = caller->seal_request(callee.pub(), as_bytes("a"), session_start).value();
  auto b = caller->seal_request(callee.pub(), as_bytes("b"), session_start + 14s).value();
  EXPECT_EQ(a.session, b.session);
  auto c2 = caller->seal_request(callee.pub(), as_bytes("c"), session_start + 16s).value();
  EXPECT_TRUE(c2.handshake);
  EXPECT_NE(c2.session, a.session);
  EXPECT_TRUE(callee->open(c2.wire, session_start + 16s));
  // The abandoned handshake is older than the accepted one: refused.
  EXPECT_EQ(code_of(callee->open(a.wire, session_start + 16s)), Errc::replay);
}

TEST(SealedSession, SessionTableBoundsEvictLeastRecentlyUsed) {
  Config c;
  c.max_sessions = 3;
  c.max_sessions_per_peer = 2;
  Agent callee(c);
  std::vector<std::unique_ptr<Agent>> callers;
  std::vector<SessionHandle> handles;
  for (int i = 0; i < 4; ++i) {
    callers.push_back(std::make_unique<Agent>());
    handles.push_back(exchange(*callers.back(), callee, "hi", "ho", session_start + std::chrono::seconds(i)));
    EXPECT_LE(callee->session_count(), 3u);
  }
  EXPECT_EQ(callee->session_count(), 3u);
  // Caller 0 was least recently used: evicted; its next message is an unknown session.
  auto s0 = (*callers[0])->seal_request(callee.pub(), as_bytes("still there?"), session_start + 10s).value();
  EXPECT_EQ(code_of(callee->open(s0.wire, session_start + 10s)), Errc::unknown_session);
  // Caller 1 is still served.
  auto s1 = (*callers[1])->seal_request(callee.pub(), as_bytes("yes"), session_start + 10s).value();
  EXPECT_TRUE(callee->open(s1.wire, session_start + 10s));

  // Per peer: caller 3 keeps handshaking again (forgetting each time), the callee keeps at most 2.
  Agent& busy = *callers[3];
  for (int i = 0; i < 5; ++i) {
    busy->forget(handles[3]);
    handles[3] = exchange(busy, callee, "again", "ok", session_start + std::chrono::seconds(20 + i));
  }
  EXPECT_LE(callee->session_count(), 3u);
  EXPECT_TRUE(callee->open((*callers[1])->seal_request(callee.pub(), as_bytes("x"), session_start + 30s).value().wire, session_start + 30s));
}

TEST(SealedSession, CallerSideIsBoundedToo) {
  Config c;
  c.max_sessions = 2;
  Agent caller(c), a, b, d;
  exchange(caller, a, "1", "1");
  exchange(caller, b, "2", "2");
  exchange(caller, d, "3", "3");
  EXPECT_EQ(caller->session_count(), 2u);
  // The caller's session with `a` was evicted: its next request handshakes again.
  EXPECT_TRUE(caller->seal_request(a.pub(), as_bytes("4"), session_start).value().handshake);
}

TEST(SealedSession, TimestampTableIsBounded) {
  Config c;
  c.max_timestamps = 2;
  Agent callee(c);
  std::vector<std::unique_ptr<Agent>> callers;
  for (int i = 0; i < 5; ++i) {
    callers.push_back(std::make_unique<Agent>());
    exchange(*callers.back(), callee, "hi", "ho", session_start + std::chrono::milliseconds(i));
    EXPECT_LE(callee->timestamp_count(), 2u);
  }
  // Entries older than the clock-skew tolerance are dropped on the next handshake.
  Agent late;
  exchange(late, callee, "hi", "ho", session_start + 200s);
  EXPECT_EQ(callee->timestamp_count(), 1u);
}

TEST(SealedSession, EvictedTimestampsStillBlockReplays) {
  Config c;
  c.max_timestamps = 1;
  Agent callee(c), first, second;
  auto s = first->seal_request(callee.pub(), as_bytes("a"), session_start).value();
  auto in = callee->open(s.wire, session_start).value();
  exchange(second, callee, "b", "b", session_start + 1ms);  // pushes `first` out of the table
  EXPECT_EQ(callee->timestamp_count(), 1u);
  callee->forget(in.session);
  EXPECT_EQ(code_of(callee->open(s.wire, session_start + 2ms)), Errc::replay);
}

TEST(SealedSession, MessageSizeLimitOnBothSides) {
  Config small;
  small.max_plaintext = 1000;
  Agent caller(small), callee(small), big_caller;
  auto too_big = caller->seal_request(callee.pub(), Bytes(1001, 'x'), session_start);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, Errc::too_large);
  EXPECT_TRUE(caller->seal_request(callee.pub(), Bytes(1000, 'x'), session_start));
  // A peer with a larger limit sends more than ours: refused before any crypto.
  auto s = big_caller->seal_request(callee.pub(), Bytes(1001, 'x'), session_start).value();
  EXPECT_EQ(code_of(callee->open(s.wire, session_start)), Errc::too_large);
  // The default limit is 10 MiB.
  Agent d1, d2;
  EXPECT_EQ(d1->seal_request(d2.pub(), Bytes(default_max_plaintext + 1, 0), session_start).error().code, Errc::too_large);
  auto max = d1->seal_request(d2.pub(), Bytes(default_max_plaintext, 7), session_start).value();
  EXPECT_EQ(d2->open(max.wire, session_start).value().plaintext.size(), default_max_plaintext);
}

TEST(SealedSession, ResponseLimitIsCheckedToo) {
  Config small;
  small.max_plaintext = 10;
  Agent caller, callee(small);
  auto s = caller->seal_request(callee.pub(), as_bytes("q"), session_start).value();
  auto in = callee->open(s.wire, session_start).value();
  EXPECT_EQ(callee->seal_response(in.session, Bytes(11, 0), session_start).error().code, Errc::too_large);
}

TEST(SealedSession, GarbageIsMalformedOrUnknown) {
  Agent t;
  EXPECT_EQ(code_of(t->open({}, session_start)), Errc::malformed);
  const Bytes unknown_type{9, 1, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(code_of(t->open(unknown_type, session_start)), Errc::malformed);
  Bytes transport;
  write_transport_header(transport, 1234, 0);
  transport.resize(transport.size() + 16);
  EXPECT_EQ(code_of(t->open(transport, session_start)), Errc::unknown_session);
  transport[1] = 2;  // a future version
  EXPECT_EQ(code_of(t->open(transport, session_start)), Errc::malformed);
  Bytes response;
  write_response_header(response, 1, 2, 3);
  response.resize(response_overhead);
  EXPECT_EQ(code_of(t->open(response, session_start)), Errc::unknown_session);
  Bytes initiation;
  write_initiation_header(initiation, 1, 0);
  initiation.resize(initiation_overhead);
  EXPECT_EQ(code_of(t->open(initiation, session_start)), Errc::authentication_failed);
}

TEST(SealedSession, ErrorsHaveNamesAndThrowWithThem) {
  EXPECT_EQ(to_string(Errc::unknown_session), "unknown_session");
  EXPECT_EQ(to_string(Errc::stale_timestamp), "stale_timestamp");
  Agent t;
  try {
    (void)t->open({}, session_start).value();
    FAIL() << "no exception";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("malformed"), std::string::npos);
  }
}

TEST(ReplayWindow, AcceptsOnceWithinTheWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.can_accept(0));
  w.accept(0);
  EXPECT_FALSE(w.can_accept(0));
  EXPECT_TRUE(w.can_accept(5));
  w.accept(5);
  EXPECT_TRUE(w.can_accept(3));
  w.accept(3);
  EXPECT_FALSE(w.can_accept(3));
  EXPECT_FALSE(w.can_accept(5));
  EXPECT_TRUE(w.can_accept(1));
  // A jump far ahead clears the ring; everything older than the window is refused.
  w.accept(100000);
  EXPECT_FALSE(w.can_accept(1));
  EXPECT_FALSE(w.can_accept(100000 - ReplayWindow::window_size));
  EXPECT_TRUE(w.can_accept(100000 - ReplayWindow::window_size + 1));
  EXPECT_TRUE(w.can_accept(99999));
  w.accept(99999);
  EXPECT_FALSE(w.can_accept(99999));
}

TEST(ReplayWindow, MatchesASetModelUnderRandomTraffic) {
  std::mt19937_64 rng(7);
  ReplayWindow w;
  std::set<std::uint64_t> accepted;
  std::uint64_t top = 0;
  bool any = false;
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t n = top + (rng() % 300);
    n = n > 2500 ? n - (rng() % 2500) : rng() % 2500;
    const bool seen = accepted.contains(n);
    const bool too_old = any && n + ReplayWindow::window_size <= top;
    EXPECT_EQ(w.can_accept(n), !seen && !too_old) << n << " top " << top;
    if (!seen && !too_old) {
      w.accept(n);
      accepted.insert(n);
      if (!any || n > top) top = n;
      any = true;
    }
  }
}

}  // namespace
}  // namespace stargate::nats::sealed

namespace stargate::nats::sealed {
namespace {

// The *_view forms make the same wire messages as the Bytes forms (either side opens what the
// other sealed), through buffers the table reuses: a large message, then a small one, then a
// large one again, and a failed open that leaves no plaintext behind.
TEST(SealedSession, ViewFormsInteroperateAndReuseTheirBuffers) {
  Agent caller, callee;
  std::string large(200'000, 'L'), small = "small", huge(3 << 20, 'H');
  for (const std::string* req : {&large, &small, &large, &huge, &small}) {
    // The caller seals into its buffer; the callee opens with the Bytes form, and back.
    auto sealed = caller->seal_request_view(callee.pub(), as_bytes(*req), session_start).value();
    Bytes wire(sealed.wire.begin(), sealed.wire.end());
    auto in = callee->open(wire, session_start).value();
    EXPECT_EQ(text(in.plaintext), *req);
    auto out = callee->seal_response(in.session, as_bytes(*req + "!"), session_start).value();
    auto back = caller->open_view(out, session_start).value();
    EXPECT_EQ(as_string(back.plaintext), *req + "!");
    EXPECT_EQ(back.session, sealed.session);
    EXPECT_EQ(back.peer_static, callee.pub());

    // The other way round: the Bytes form seals, the view forms open and answer.
    auto sealed2 = caller->seal_request(callee.pub(), as_bytes(*req), session_start).value();
    auto in2 = callee->open_view(sealed2.wire, session_start).value();
    EXPECT_EQ(as_string(in2.plaintext), *req);
    ASSERT_TRUE(in2.peer.has_value());
    EXPECT_EQ(in2.peer->public_key, caller.identity.public_key());
    auto out2 = callee->seal_response_view(in2.session, as_bytes(small), session_start).value();
    EXPECT_EQ(out2.size(), transport_overhead + small.size());
    Bytes wire2(out2.begin(), out2.end());
    EXPECT_EQ(text(caller->open(wire2, session_start).value().plaintext), small);
  }

  // Tampered: refused, and the buffer does not hold the plaintext.
  auto sealed = caller->seal_request_view(callee.pub(), as_bytes(large), session_start).value();
  Bytes wire(sealed.wire.begin(), sealed.wire.end());
  auto ok = callee->open_view(wire, session_start).value();  // the genuine one first: fills the buffer
  EXPECT_EQ(as_string(ok.plaintext), large);
  auto view = ok.plaintext;
  auto sealed2 = caller->seal_request_view(callee.pub(), as_bytes(large), session_start).value();
  Bytes bad(sealed2.wire.begin(), sealed2.wire.end());
  bad[bad.size() - 1] ^= 1;
  auto refused = callee->open_view(bad, session_start);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::authentication_failed);
  EXPECT_EQ(std::count(view.begin(), view.end(), 'L'), 0);  // same buffer, wiped
}

}  // namespace
}  // namespace stargate::nats::sealed
