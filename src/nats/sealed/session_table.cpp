#include "nats/sealed/session_table.hpp"

#include "base/endian.hpp"
#include "crypto/noise/cipher_state.hpp"
#include "crypto/noise/handshake_state.hpp"
#include "crypto/random.hpp"
#include "crypto/sha256.hpp"

#include <algorithm>
#include <limits>
#include <memory>

namespace stargate::nats::sealed {

namespace noise = stargate::crypto::noise;

namespace {

SealError fail(Errc code, std::string what) { return seal_error(code, "sealed: " + std::move(what)); }

std::uint64_t unix_ns(TimePoint t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
}

std::uint64_t to_ns(std::chrono::nanoseconds d) { return d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count()); }

// The 8 first bytes of an initiation with this sender index: the prologue's variable part.
Bytes prologue_fields(std::uint32_t sender_index) {
  Bytes h;
  write_initiation_header(h, sender_index, 0);
  h.resize(8);
  return h;
}

struct Session {
  std::uint64_t serial = 0;
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;  // initiator: known once established
  SessionRole role = SessionRole::initiator;
  crypto::X25519Key peer_static{};
  std::optional<PeerIdentity> peer;
  TimePoint created;
  std::uint64_t last_used = 0;
  std::list<std::uint32_t>::iterator lru;

  // Initiator, until message 2 arrives: what it takes to read message 2 (or rebuild the state after
  // a forged message 2 made it fail) and to repeat message 1 in early requests.
  std::optional<noise::HandshakeState> hs;
  std::optional<crypto::X25519PrivateKey> ephemeral;
  std::array<std::uint8_t, handshake_payload_size> payload{};
  Bytes message1;
  std::uint64_t early_send = 0;

  // Responder: the hash under which the initiation is known, and the early-data replay window.
  crypto::Sha256Digest message1_hash{};
  ReplayWindow early_window;

  noise::CipherState early;  // initiator seals early requests with it, responder opens them
  Bytes message2;            // responder repeats it in responses; initiator compares it
  bool established = false;  // transport keys exist (responder: from the start)
  bool confirmed = false;    // responder: the initiator sent a transport message (it has message 2)
  noise::CipherState send;
  noise::CipherState recv;
  std::uint64_t send_counter = 0;
  ReplayWindow recv_window;

  SessionHandle handle() const { return SessionHandle{local_index, serial}; }

  ~Session() { crypto::secure_wipe(payload); }
  Session() = default;
  Session(Session&&) = default;
};

// A reusable output buffer: grown to the largest message, never zero-filled (every byte handed
// out is written by the AEAD first), given back when a message over `keep` has passed.
class Scratch {
 public:
  static constexpr std::size_t keep = std::size_t{1} << 20;
  std::uint8_t* prepare(std::size_t n) {
    if (n > capacity_ || (capacity_ > keep && n <= keep)) {
      const std::size_t rounded = (std::max<std::size_t>(n, 1) + 4095) & ~std::size_t{4095};
      data_ = std::make_unique_for_overwrite<std::uint8_t[]>(rounded);
      capacity_ = rounded;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t capacity_ = 0;
};

struct PeerState {
  std::vector<std::uint32_t> sessions;  // both roles
  std::optional<std::uint32_t> current;  // initiator session used for requests
  std::optional<std::uint32_t> pending;  // initiator session whose handshake is under way
};

}  // namespace

struct SessionTable::Impl {
  crypto::X25519PrivateKey local_static;
  PeerIdentity identity;
  crypto::Ed25519Signature signature{};
  Config config;
  crypto::RandomSource random;  // never empty

  std::unordered_map<std::uint32_t, Session> sessions;
  std::list<std::uint32_t> lru;  // front: most recently used
  std::map<crypto::X25519Key, PeerState> peers;
  std::map<crypto::Sha256Digest, std::uint32_t> initiations;  // responder: hash of IK message 1 -> index
  // Greatest handshake timestamp seen per caller static key, and the same ordered by timestamp.
  std::map<crypto::X25519Key, std::uint64_t> timestamps;
  std::set<std::pair<std::uint64_t, crypto::X25519Key>> timestamp_order;
  std::uint64_t timestamp_floor = 0;  // greatest timestamp evicted from a full table
  std::uint64_t next_serial = 1;
  std::uint64_t tick = 0;
  std::uint64_t last_timestamp = 0;  // ours, as a caller: strictly increasing
  Scratch seal_scratch, open_scratch;  // the *_view results

  Impl(crypto::X25519PrivateKey key, PeerIdentity id, const crypto::Ed25519Signature& sig, Config c,
       crypto::RandomSource source)
      : local_static(std::move(key)),
        identity(std::move(id)),
        signature(sig),
        config(c),
        random(crypto::or_system_random(std::move(source))) {
    config.max_sessions = std::max<std::size_t>(config.max_sessions, 1);
    config.max_sessions_per_peer = std::max<std::size_t>(config.max_sessions_per_peer, 1);
    config.max_timestamps = std::max<std::size_t>(config.max_timestamps, 1);
    config.reject_after_messages = std::min(config.reject_after_messages, noise::max_nonce);
  }

  // ---- bookkeeping -------------------------------------------------------------------------

  Session* find(std::uint32_t index) {
    auto it = sessions.find(index);
    return it == sessions.end() ? nullptr : &it->second;
  }
  Session* find(const SessionHandle& h) {
    Session* s = find(h.index);
    return s && s->serial == h.serial ? s : nullptr;
  }
  bool contains(const SessionHandle& h) const {
    auto it = sessions.find(h.index);
    return it != sessions.end() && it->second.serial == h.serial;
  }

  bool expired(const Session& s, TimePoint now) const {
    return now > s.created && now - s.created >= config.reject_after_time;
  }
  std::chrono::nanoseconds age(const Session& s, TimePoint now) const {
    return now > s.created ? std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.created)
                           : std::chrono::nanoseconds(0);
  }

  void touch(Session& s) {
    s.last_used = ++tick;
    lru.splice(lru.begin(), lru, s.lru);
  }

  std::uint32_t new_index() {
    for (;;) {
      std::array<std::uint8_t, 4> r{};
      random(r);
      const std::uint32_t i = load_be32(r.data());
      if (i != 0 && !sessions.contains(i)) return i;
    }
  }

  void remove(std::uint32_t index) {
    auto it = sessions.find(index);
    if (it == sessions.end()) return;
    Session& s = it->second;
    lru.erase(s.lru);
    if (s.role == SessionRole::responder) {
      auto in = initiations.find(s.message1_hash);
      if (in != initiations.end() && in->second == index) initiations.erase(in);
    }
    if (auto p = peers.find(s.peer_static); p != peers.end()) {
      auto& v = p->second.sessions;
      v.erase(std::remove(v.begin(), v.end(), index), v.end());
      if (p->second.current == index) p->second.current.reset();
      if (p->second.pending == index) p->second.pending.reset();
      if (v.empty()) peers.erase(p);
    }
    sessions.erase(it);
  }

  // Makes room (per peer, then in total) and inserts; returns the stored session.
  Session& add(Session&& fresh) {
    const crypto::X25519Key peer = fresh.peer_static;
    for (;;) {
      auto p = peers.find(peer);
      if (p == peers.end() || p->second.sessions.size() < config.max_sessions_per_peer) break;
      std::uint32_t victim = p->second.sessions.front();
      std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
      for (std::uint32_t i : p->second.sessions) {
        if (sessions.at(i).last_used < oldest) {
          oldest = sessions.at(i).last_used;
          victim = i;
        }
      }
      remove(victim);
    }
    while (sessions.size() >= config.max_sessions) remove(lru.back());
    const std::uint32_t index = fresh.local_index;
    fresh.serial = next_serial++;
    fresh.last_used = ++tick;
    lru.push_front(index);
    fresh.lru = lru.begin();
    Session& s = sessions.emplace(index, std::move(fresh)).first->second;
    peers[peer].sessions.push_back(index);
    return s;
  }

  // ---- timestamps (replay protection of initiations) ----------------------------------------

  void prune_timestamps(std::uint64_t now_ns) {
    // A timestamp older than now - skew is stale anyway: its entry is no longer needed.
    const std::uint64_t skew = to_ns(config.clock_skew);
    if (now_ns <= skew) return;
    const std::uint64_t cutoff = now_ns - skew;
    while (!timestamp_order.empty() && timestamp_order.begin()->first < cutoff) {
      timestamps.erase(timestamp_order.begin()->second);
      timestamp_order.erase(timestamp_order.begin());
    }
  }
  bool timestamp_replayed(const crypto::X25519Key& peer, std::uint64_t ts) const {
    if (ts <= timestamp_floor) return true;
    auto it = timestamps.find(peer);
    return it != timestamps.end() && ts <= it->second;
  }
  void remember_timestamp(const crypto::X25519Key& peer, std::uint64_t ts) {
    if (auto it = timestamps.find(peer); it != timestamps.end()) {
      timestamp_order.erase({it->second, peer});
      it->second = ts;
      timestamp_order.insert({ts, peer});
      return;
    }
    if (timestamps.size() >= config.max_timestamps) {
      // Forget the oldest, but refuse anything at or below it from anyone: safe, and it only bites a
      // caller whose clock lags the others while the table is full of fresh entries.
      auto oldest = timestamp_order.begin();
      timestamp_floor = std::max(timestamp_floor, oldest->first);
      timestamps.erase(oldest->second);
      timestamp_order.erase(oldest);
    }
    timestamps.emplace(peer, ts);
    timestamp_order.insert({ts, peer});
  }

  // ---- sealing --------------------------------------------------------------------------------

  SealResult<void> check_size(BytesView plaintext) const {
    if (plaintext.size() > config.max_plaintext)
      return fail(Errc::too_large, "message of " + std::to_string(plaintext.size()) + " bytes exceeds the limit of " +
                                       std::to_string(config.max_plaintext));
    return {};
  }

  // The size of the message that seal_into() makes of `n` bytes on `s`.
  static std::size_t sealed_size(const Session& s, std::size_t n) {
    if (!s.established) return initiation_overhead + n;
    if (s.role == SessionRole::responder && !s.confirmed) return response_overhead + n;
    return transport_overhead + n;
  }

  // Writes the message (header, AEAD(key, counter, ad = header, plaintext)) to `out`, which holds
  // sealed_size(s, plaintext.size()) bytes: an initiation while the handshake is pending, a
  // response while the responder waits for the initiator's first transport message, else a
  // transport message.
  SealResult<void> seal_into(Session& s, BytesView plaintext, std::uint8_t* out) {
    Bytes header;
    header.reserve(initiation_body_offset);
    noise::CipherState* cipher = nullptr;
    std::uint64_t* counter = nullptr;
    if (!s.established) {
      if (s.early_send >= config.reject_after_messages) return fail(Errc::session_expired, "handshake counter exhausted");
      write_initiation_header(header, s.local_index, s.early_send);
      append(header, s.message1);
      cipher = &s.early;
      counter = &s.early_send;
    } else {
      if (s.send_counter >= config.reject_after_messages) return fail(Errc::session_expired, "message counter exhausted");
      if (s.role == SessionRole::responder && !s.confirmed) {
        write_response_header(header, s.remote_index, s.local_index, s.send_counter);
        append(header, s.message2);
      } else {
        write_transport_header(header, s.remote_index, s.send_counter);
      }
      cipher = &s.send;
      counter = &s.send_counter;
    }
    if (header.size() + plaintext.size() + aead_tag_size != sealed_size(s, plaintext.size()))
      throw ErrorException("sealed: header size mismatch");  // a bug here
    std::copy(header.begin(), header.end(), out);
    auto r = cipher->seal_with_nonce_into(*counter, BytesView(out, header.size()), plaintext, out + header.size());
    if (!r) throw ErrorException("sealed: " + r.error().message);  // a keyless state: a bug here
    ++*counter;
    touch(s);
    return {};
  }

  // Seals on `s` into the seal scratch buffer.
  SealResult<BytesView> seal_on_scratch(Session& s, BytesView plaintext) {
    const std::size_t n = sealed_size(s, plaintext.size());
    std::uint8_t* out = seal_scratch.prepare(n);
    if (auto r = seal_into(s, plaintext, out); !r) return r.error();
    return BytesView(out, n);
  }

  // The session a request to `callee` goes on: the current one, else the pending handshake, else
  // a new handshake (second: true when the request carries IK message 1).
  SealResult<std::pair<Session*, bool>> request_session(const crypto::X25519Key& callee_static, TimePoint now,
                                                        const std::optional<crypto::Ed25519PublicKey>& callee_identity) {
    if (auto p = peers.find(callee_static); p != peers.end()) {
      PeerState& ps = p->second;
      if (ps.current) {
        Session* s = find(*ps.current);
        if (s && s->established && !expired(*s, now) && age(*s, now) < config.rekey_after_time &&
            s->send_counter < config.rekey_after_messages) {
          if (callee_identity && !s->peer) s->peer = make_peer_identity(*callee_identity);
          return std::pair<Session*, bool>{s, false};
        }
      }
      if (ps.pending) {
        Session* s = find(*ps.pending);
        if (s && !s->established && age(*s, now) < config.handshake_timeout && !expired(*s, now) &&
            s->early_send < config.reject_after_messages) {
          if (callee_identity && !s->peer) s->peer = make_peer_identity(*callee_identity);
          return std::pair<Session*, bool>{s, true};
        }
      }
    }
    auto started = start_handshake(callee_static, now, callee_identity);
    if (!started) return started.error();
    return std::pair<Session*, bool>{*started, true};
  }

  // Recreates the initiator's handshake state after message 1 (deterministic: same ephemeral key,
  // same payload), after a forged message 2 left it failed.
  SealResult<void> rebuild_handshake(Session& s) {
    s.hs.reset();
    auto hs = noise::HandshakeState::create(noise::patterns::IK(), noise::Role::initiator,
                                            handshake_prologue(prologue_fields(s.local_index)), local_static,
                                            s.peer_static, s.ephemeral);
    if (!hs) return fail(Errc::malformed, hs.error().message);
    auto m1 = hs->write_message(s.payload);
    if (!m1) return fail(Errc::malformed, "callee static key rejected: " + m1.error().message);
    s.hs.emplace(std::move(*hs));
    return {};
  }

  SealResult<Session*> start_handshake(const crypto::X25519Key& callee, TimePoint now,
                                       const std::optional<crypto::Ed25519PublicKey>& callee_identity) {
    Session s;
    s.role = SessionRole::initiator;
    s.local_index = new_index();
    s.peer_static = callee;
    if (callee_identity) s.peer = make_peer_identity(*callee_identity);
    s.created = now;

    HandshakePayload hp;
    hp.timestamp_ns = std::max(unix_ns(now), last_timestamp + 1);
    hp.identity = identity.public_key.bytes();
    hp.signature = signature;
    random(hp.early_key);
    s.payload = encode_handshake_payload(hp);
    s.early.initialize_key(hp.early_key);
    crypto::secure_wipe(hp.early_key);
    s.ephemeral = crypto::X25519PrivateKey::generate(random);

    auto hs = noise::HandshakeState::create(noise::patterns::IK(), noise::Role::initiator,
                                            handshake_prologue(prologue_fields(s.local_index)), local_static, callee,
                                            s.ephemeral);
    if (!hs) return fail(Errc::malformed, hs.error().message);
    auto m1 = hs->write_message(s.payload);
    if (!m1) return fail(Errc::malformed, "callee static key rejected: " + m1.error().message);
    s.message1 = std::move(*m1);
    s.hs.emplace(std::move(*hs));
    last_timestamp = hp.timestamp_ns;

    Session& stored = add(std::move(s));
    peers[callee].pending = stored.local_index;
    return &stored;
  }

  // ---- opening --------------------------------------------------------------------------------

  // Where open() puts the plaintext: a Bytes of its own, or the open scratch buffer.
  struct Sink {
    Bytes* bytes = nullptr;
    Scratch* scratch = nullptr;
    BytesView written;
    std::uint8_t* prepare(std::size_t n) {
      std::uint8_t* out = nullptr;
      if (bytes != nullptr) {
        bytes->resize(n);
        out = bytes->data();
      } else {
        out = scratch->prepare(n);
      }
      written = BytesView(out, n);
      return out;
    }
  };

  OpenedInfo opened(Session& s, MessageType type) {
    touch(s);
    OpenedInfo o;
    o.session = s.handle();
    o.role = s.role;
    o.type = type;
    o.was_handshake = type != MessageType::transport;
    o.peer_static = s.peer_static;
    o.peer = s.peer;
    return o;
  }

  // Decrypts `body` into `sink` (nothing usable there on failure: the AEAD wipes it).
  SealResult<void> open_body(noise::CipherState& cipher, std::uint64_t counter, BytesView ad, BytesView body,
                             Sink& sink) {
    if (body.size() < aead_tag_size) return fail(Errc::authentication_failed, "message does not authenticate");
    auto r = cipher.open_with_nonce_into(counter, ad, body, sink.prepare(body.size() - aead_tag_size));
    if (!r) return fail(Errc::authentication_failed, "message does not authenticate");
    return {};
  }

  SealResult<void> check_counter(const ReplayWindow& w, std::uint64_t counter) const {
    if (counter >= config.reject_after_messages) return fail(Errc::malformed, "counter out of range");
    if (!w.can_accept(counter)) return fail(Errc::replay, "message counter " + std::to_string(counter) + " already seen or too old");
    return {};
  }

  // Looks a session up by our index for a message to it: unknown_session when absent or expired.
  SealResult<Session*> live_session(std::uint32_t index, TimePoint now) {
    Session* s = find(index);
    if (!s) return fail(Errc::unknown_session, "no session with index " + std::to_string(index));
    if (expired(*s, now)) {
      remove(index);
      return fail(Errc::unknown_session, "session " + std::to_string(index) + " expired");
    }
    return s;
  }

  SealResult<OpenedInfo> open_initiation(const InitiationView& v, TimePoint now, Sink& sink) {
    const crypto::Sha256Digest digest = crypto::sha256(v.message1);
    if (auto known = initiations.find(digest); known != initiations.end()) {
      // A request sent while the caller's handshake was pending, or a replay: same message 1.
      auto s = live_session(known->second, now);
      if (!s) return s.error();
      Session& session = **s;
      if (v.sender_index != session.remote_index) return fail(Errc::authentication_failed, "sender index mismatch");
      if (auto r = check_counter(session.early_window, v.counter); !r) return r.error();
      auto pt = open_body(session.early, v.counter, v.ad, v.body, sink);
      if (!pt) return pt.error();
      session.early_window.accept(v.counter);
      return opened(session, MessageType::initiation);
    }

    auto hs = noise::HandshakeState::create(noise::patterns::IK(), noise::Role::responder,
                                            handshake_prologue(v.prologue_fields), local_static);
    if (!hs) return fail(Errc::malformed, hs.error().message);
    auto payload_bytes = hs->read_message(v.message1);
    if (!payload_bytes)
      return fail(Errc::authentication_failed, "handshake does not decrypt (not sealed to our static key, or tampered)");
    auto payload = decode_handshake_payload(*payload_bytes);
    crypto::secure_wipe(*payload_bytes);
    if (!payload) return payload.error();
    const crypto::X25519Key caller_static = *hs->remote_static();

    const std::uint64_t now_ns = unix_ns(now);
    const std::uint64_t skew = to_ns(config.clock_skew);
    const std::uint64_t ts = payload->timestamp_ns;
    if ((ts < now_ns && now_ns - ts > skew) || (ts > now_ns && ts - now_ns > skew))
      return fail(Errc::stale_timestamp, "handshake timestamp is " +
                                             std::to_string((ts < now_ns ? now_ns - ts : ts - now_ns) / 1000000) +
                                             " ms " + (ts < now_ns ? "behind" : "ahead of") +
                                             " our clock (tolerance " + std::to_string(skew / 1000000) + " ms)");
    prune_timestamps(now_ns);
    if (timestamp_replayed(caller_static, ts))
      return fail(Errc::replay, "handshake timestamp not newer than the last one from this caller");

    auto caller = verify_binding(BindingPurpose::session, payload->identity, payload->signature, caller_static);
    if (!caller) return fail(Errc::bad_signature, "caller " + caller.error().message);

    if (v.counter >= config.reject_after_messages) return fail(Errc::malformed, "counter out of range");
    noise::CipherState early(payload->early_key);
    crypto::secure_wipe(payload->early_key);
    auto pt = open_body(early, v.counter, v.ad, v.body, sink);
    if (!pt) return pt.error();

    // Drawn only now, so that a forged initiation costs no key generation.
    if (auto r = hs->set_ephemeral(crypto::X25519PrivateKey::generate(random)); !r)
      throw ErrorException("sealed: " + r.error().message);  // message 2 not yet written: a bug here
    auto m2 = hs->write_message({});
    if (!m2) return fail(Errc::authentication_failed, m2.error().message);

    // Everything checked: commit.
    remember_timestamp(caller_static, ts);
    Session s;
    s.role = SessionRole::responder;
    s.local_index = new_index();
    s.remote_index = v.sender_index;
    s.peer_static = caller_static;
    s.peer = std::move(*caller);
    s.created = now;
    s.message1_hash = digest;
    s.early = std::move(early);
    s.early_window.accept(v.counter);
    s.message2 = std::move(*m2);
    auto [send, recv] = hs->split();
    s.send = std::move(send);
    s.recv = std::move(recv);
    s.established = true;
    Session& stored = add(std::move(s));
    initiations[digest] = stored.local_index;
    return opened(stored, MessageType::initiation);
  }

  SealResult<OpenedInfo> open_response(const ResponseView& v, TimePoint now, Sink& sink) {
    auto found = live_session(v.receiver_index, now);
    if (!found) return found.error();
    Session& s = **found;
    if (s.role != SessionRole::initiator)
      return fail(Errc::unknown_session, "no session we initiated with index " + std::to_string(v.receiver_index));
    if (auto r = check_counter(s.recv_window, v.counter); !r) return r.error();

    if (s.established) {
      if (v.sender_index != s.remote_index || !std::equal(v.message2.begin(), v.message2.end(), s.message2.begin(),
                                                          s.message2.end()))
        return fail(Errc::authentication_failed, "response does not belong to this session's handshake");
      auto pt = open_body(s.recv, v.counter, v.ad, v.body, sink);
      if (!pt) return pt.error();
      s.recv_window.accept(v.counter);
      return opened(s, MessageType::response);
    }

    // A forged message 2 fails the state; one whose body was forged completes it: either way the
    // state is rebuilt, so that the genuine response can still complete the handshake.
    if (!s.hs || s.hs->failed() || s.hs->is_complete()) {
      if (auto r = rebuild_handshake(s); !r) return r.error();
    }
    auto empty = s.hs->read_message(v.message2);
    if (!empty) return fail(Errc::authentication_failed, "handshake response does not decrypt");
    auto [send, recv] = s.hs->split();
    auto pt = open_body(recv, v.counter, v.ad, v.body, sink);
    if (!pt) return pt.error();
    // Established: keep the keys, drop what the handshake needed.
    s.send = std::move(send);
    s.recv = std::move(recv);
    s.recv_window.accept(v.counter);
    s.remote_index = v.sender_index;
    s.message2.assign(v.message2.begin(), v.message2.end());
    s.established = true;
    s.hs.reset();
    s.ephemeral.reset();
    crypto::secure_wipe(s.payload);
    s.message1.clear();
    auto p = peers.find(s.peer_static);
    if (p != peers.end()) {
      PeerState& ps = p->second;
      if (ps.pending == s.local_index) ps.pending.reset();
      Session* cur = ps.current ? find(*ps.current) : nullptr;
      if (!cur || cur->created <= s.created) ps.current = s.local_index;
    }
    return opened(s, MessageType::response);
  }

  SealResult<OpenedInfo> open_transport(const TransportView& v, TimePoint now, Sink& sink) {
    auto found = live_session(v.receiver_index, now);
    if (!found) return found.error();
    Session& s = **found;
    if (!s.established) return fail(Errc::authentication_failed, "transport message before the handshake completed");
    if (auto r = check_counter(s.recv_window, v.counter); !r) return r.error();
    auto pt = open_body(s.recv, v.counter, v.ad, v.body, sink);
    if (!pt) return pt.error();
    s.recv_window.accept(v.counter);
    if (s.role == SessionRole::responder) s.confirmed = true;
    return opened(s, MessageType::transport);
  }

  SealResult<OpenedInfo> open(BytesView wire, TimePoint now, Sink& sink) {
    auto parsed = parse_message(wire, config.max_plaintext);
    if (!parsed) return parsed.error();
    if (auto* i = std::get_if<InitiationView>(&*parsed)) return open_initiation(*i, now, sink);
    if (auto* r = std::get_if<ResponseView>(&*parsed)) return open_response(*r, now, sink);
    return open_transport(std::get<TransportView>(*parsed), now, sink);
  }
};

// ---- SessionTable -------------------------------------------------------------------------------

SessionTable::SessionTable(crypto::X25519PrivateKey local_static, const crypto::Ed25519PrivateKey& identity,
                           Config config, crypto::RandomSource random)
    : SessionTable(local_static, identity.public_key(),
                   sign_binding(BindingPurpose::session, identity, local_static.public_key()), config,
                   std::move(random)) {}

SessionTable::SessionTable(crypto::X25519PrivateKey local_static, crypto::Ed25519PublicKey identity,
                           const crypto::Ed25519Signature& static_key_signature, Config config,
                           crypto::RandomSource random)
    : impl_(std::make_unique<Impl>(std::move(local_static), make_peer_identity(identity), static_key_signature, config,
                                   std::move(random))) {}

SessionTable::~SessionTable() = default;

SealResult<Sealed> SessionTable::seal_request(const crypto::X25519Key& callee_static, BytesView plaintext,
                                              TimePoint now,
                                              const std::optional<crypto::Ed25519PublicKey>& callee_identity) {
  // The owning form copies the view: only the node's hot path uses the view itself.
  auto view = seal_request_view(callee_static, plaintext, now, callee_identity);
  if (!view) return view.error();
  return Sealed{Bytes(view->wire.begin(), view->wire.end()), view->session, view->handshake};
}

SealResult<SealedView> SessionTable::seal_request_view(const crypto::X25519Key& callee_static, BytesView plaintext,
                                                       TimePoint now,
                                                       const std::optional<crypto::Ed25519PublicKey>& callee_identity) {
  Impl& m = *impl_;
  if (auto r = m.check_size(plaintext); !r) return r.error();
  auto picked = m.request_session(callee_static, now, callee_identity);
  if (!picked) return picked.error();
  auto [s, handshake] = *picked;
  auto wire = m.seal_on_scratch(*s, plaintext);
  if (!wire) return wire.error();
  return SealedView{*wire, s->handle(), handshake};
}

namespace {
template <class Impl, class Session>
SealResult<Session*> response_session(Impl& m, const SessionHandle& session, BytesView plaintext, TimePoint now) {
  Session* s = m.find(session);
  if (!s) return fail(Errc::unknown_session, "the session is gone (expired, evicted or forgotten)");
  if (m.expired(*s, now)) {
    m.remove(session.index);
    return fail(Errc::session_expired, "the session is past its lifetime");
  }
  if (auto r = m.check_size(plaintext); !r) return r.error();
  return s;
}
}  // namespace

SealResult<Bytes> SessionTable::seal_response(const SessionHandle& session, BytesView plaintext, TimePoint now) {
  auto view = seal_response_view(session, plaintext, now);
  if (!view) return view.error();
  return Bytes(view->begin(), view->end());
}

SealResult<BytesView> SessionTable::seal_response_view(const SessionHandle& session, BytesView plaintext,
                                                       TimePoint now) {
  auto s = response_session<Impl, Session>(*impl_, session, plaintext, now);
  if (!s) return s.error();
  return impl_->seal_on_scratch(**s, plaintext);
}

SealResult<Opened> SessionTable::open(BytesView wire, TimePoint now) {
  Opened out;
  Impl::Sink sink;
  sink.bytes = &out.plaintext;
  auto info = impl_->open(wire, now, sink);
  if (!info) return info.error();
  static_cast<OpenedInfo&>(out) = std::move(*info);
  return out;
}

SealResult<OpenedView> SessionTable::open_view(BytesView wire, TimePoint now) {
  Impl::Sink sink;
  sink.scratch = &impl_->open_scratch;
  auto info = impl_->open(wire, now, sink);
  if (!info) return info.error();
  OpenedView out;
  static_cast<OpenedInfo&>(out) = std::move(*info);
  out.plaintext = sink.written;
  return out;
}

void SessionTable::forget(const SessionHandle& session) {
  if (impl_->find(session)) impl_->remove(session.index);
}

void SessionTable::forget_peer(const crypto::X25519Key& peer_static) {
  auto p = impl_->peers.find(peer_static);
  if (p == impl_->peers.end()) return;
  const std::vector<std::uint32_t> doomed = p->second.sessions;
  for (std::uint32_t i : doomed) impl_->remove(i);
}

std::size_t SessionTable::prune(TimePoint now) {
  Impl& m = *impl_;
  std::vector<std::uint32_t> doomed;
  for (const auto& [index, s] : m.sessions)
    if (m.expired(s, now)) doomed.push_back(index);
  for (std::uint32_t i : doomed) m.remove(i);
  m.prune_timestamps(unix_ns(now));
  return doomed.size();
}

bool SessionTable::contains(const SessionHandle& session) const {
  return impl_->contains(session);
}
std::size_t SessionTable::session_count() const { return impl_->sessions.size(); }
std::size_t SessionTable::timestamp_count() const { return impl_->timestamps.size(); }
const crypto::X25519Key& SessionTable::static_public_key() const { return impl_->local_static.public_key(); }
const PeerIdentity& SessionTable::identity() const { return impl_->identity; }
const Config& SessionTable::config() const { return impl_->config; }

}  // namespace stargate::nats::sealed
