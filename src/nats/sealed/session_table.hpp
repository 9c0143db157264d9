#pragma once
// End-to-end sealed sessions for calls over a NATS broker: Noise_IK_25519_ChaChaPoly_SHA256 keyed to
// the callee's announced X25519 static key, shaped like WireGuard (session indices, an explicit
// counter per message, a sliding replay window, a timestamp in the first message). Sans-IO: the
// table turns plaintext into wire bytes and back; it never touches a socket or a clock (`now` is
// passed in), and its randomness comes from an injected source. Wire format and rationale: docs/nats-sealed-session.md.
//
// One table per node serves both directions (a node calls and is called).
//
//   caller                                             callee
//   auto s = t.seal_request(callee_static, req, now);  // s.wire -> NATS (an initiation the first time)
//                                                      auto in = t.open(wire, now);  // in.plaintext
//                                                      //   in.peer: who called (verified identity)
//                                                      auto out = t.seal_response(in.session, resp, now);
//   auto r = t.open(out, now);   // r.plaintext; check r.peer_static == callee_static
//
// Requests sent while the handshake is pending carry the same IK message 1 (and a fresh counter), so
// concurrent first calls, reordering and a lost first message all work; the callee answers with
// responses carrying IK message 2 until it sees the caller's first transport message.
//
// Recovery: when the callee answers "unknown session" (its open() returned Errc::unknown_session and
// the agent layer said so in its unauthenticated reply), the caller calls forget(handle) with the
// handle of the failed request; its next seal_request() handshakes again. Do the same after an
// authentication_failed response or a call timeout on a session that never completed.
//
// Responses are correlated by the layer above (JSON-RPC id). That layer must also check that a
// response came from the peer it called: Opened::peer_static == the callee's static key (every
// session in the table is authenticated, but a different, legitimate peer could answer with the id).
//
// Not thread-safe: use it from one strand.
#include "base/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "nats/sealed/errors.hpp"
#include "nats/sealed/identity_binding.hpp"
#include "nats/sealed/replay_window.hpp"
#include "nats/sealed/wire.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stargate::nats::sealed {

// Wall-clock time (the handshake timestamp is unix nanoseconds); session ages use it too.
using TimePoint = std::chrono::system_clock::time_point;

inline constexpr std::size_t default_max_plaintext = 10 * 1024 * 1024;  // 10 MiB

struct Config {
  // Largest plaintext sealed or accepted (both sides): Errc::too_large beyond it.
  std::size_t max_plaintext = default_max_plaintext;
  // A handshake timestamp further than this from the callee's clock (either way) is stale. It also
  // bounds how long the timestamp table must remember a caller.
  std::chrono::nanoseconds clock_skew = std::chrono::seconds(120);
  // The caller starts a new handshake for requests once its session is this old or has sent
  // rekey_after_messages; the old session keeps serving responses until reject_after_time.
  std::chrono::nanoseconds rekey_after_time = std::chrono::seconds(120);
  // No message is sealed or opened on a session this old (it is dropped): the caller must
  // handshake again. Leaves (reject - rekey) = 8 minutes for a handler to answer the last request.
  std::chrono::nanoseconds reject_after_time = std::chrono::seconds(600);
  // A pending handshake (no response yet) carries further requests for this long; then the next
  // request starts a new handshake. Keep it well below clock_skew.
  std::chrono::nanoseconds handshake_timeout = std::chrono::seconds(15);
  std::uint64_t rekey_after_messages = std::uint64_t{1} << 60;
  std::uint64_t reject_after_messages = ~std::uint64_t{0} - (std::uint64_t{1} << 13);
  // Bounds: sessions in total and per peer static key (least recently used evicted first), and
  // callers remembered in the handshake-timestamp table.
  std::size_t max_sessions = 4096;
  std::size_t max_sessions_per_peer = 8;
  std::size_t max_timestamps = 16384;
};

// Names one session of a table. `serial` tells a reused index apart.
struct SessionHandle {
  std::uint32_t index = 0;
  std::uint64_t serial = 0;
  friend bool operator==(const SessionHandle&, const SessionHandle&) = default;
};

enum class SessionRole : std::uint8_t { initiator, responder };

struct Sealed {
  Bytes wire;              // the NATS message payload
  SessionHandle session;   // keep it to forget() the session if the callee lost it
  bool handshake = false;  // true when `wire` is an initiation (carries IK message 1)
};

// Sealed, with the wire bytes in the table's own buffer (see seal_request_view).
struct SealedView {
  BytesView wire;
  SessionHandle session;
  bool handshake = false;
};

// What open() tells besides the plaintext.
struct OpenedInfo {
  SessionHandle session;  // reply with seal_response(session, ...)
  SessionRole role = SessionRole::responder;  // our role in that session
  MessageType type = MessageType::transport;
  bool was_handshake = false;  // an initiation or a response (carried a Noise handshake message)
  crypto::X25519Key peer_static{};
  // Who sent it: always set when we are the responder (verified from the handshake); set on the
  // initiator side when the caller named the callee's identity in seal_request().
  std::optional<PeerIdentity> peer;
};

struct Opened : OpenedInfo {
  Bytes plaintext;
};

// Opened, with the plaintext in the table's own buffer (see open_view).
struct OpenedView : OpenedInfo {
  BytesView plaintext;
};

class SessionTable {
 public:
  // `identity` signs the static key once, here. `random` is where the table draws its ephemeral
  // keys, early-data keys and session indices from (crypto::random_bytes when empty): a seeded
  // source makes its output reproducible, for tests.
  SessionTable(crypto::X25519PrivateKey local_static, const crypto::Ed25519PrivateKey& identity, Config config = {},
               crypto::RandomSource random = {});
  // With a signature made elsewhere (over static_key_signature_message(local_static.public_key())).
  SessionTable(crypto::X25519PrivateKey local_static, crypto::Ed25519PublicKey identity,
               const crypto::Ed25519Signature& static_key_signature, Config config = {},
               crypto::RandomSource random = {});
  ~SessionTable();
  SessionTable(const SessionTable&) = delete;
  SessionTable& operator=(const SessionTable&) = delete;

  // Caller side: seals a request to the owner of `callee_static`, on the current session with it,
  // else on the pending handshake, else by starting a handshake (an initiation). `callee_identity`,
  // when given (from its signed announcement), is reported in Opened::peer for its responses.
  SealResult<Sealed> seal_request(const crypto::X25519Key& callee_static, BytesView plaintext, TimePoint now,
                                  const std::optional<crypto::Ed25519PublicKey>& callee_identity = std::nullopt);

  // Either side: seals another message on a given session (the callee's responses; the caller may
  // use it too). Errors: unknown_session (gone), session_expired, too_large.
  SealResult<Bytes> seal_response(const SessionHandle& session, BytesView plaintext, TimePoint now);

  // Either side: authenticates and decrypts a received message. Nothing changes on failure.
  SealResult<Opened> open(BytesView wire, TimePoint now);

  // The same three without a buffer per message: the result views the table's own buffers (one
  // for sealing, one for opening; grown to the largest message, not zero-filled, kept up to
  // 1 MiB), valid until the next *_view call of the same kind (seal or open) on this table. For
  // the hot path, where the wire bytes are published, or the plaintext parsed, at once: steady
  // state allocates nothing per message. On a failed open the buffer holds no plaintext.
  SealResult<SealedView> seal_request_view(const crypto::X25519Key& callee_static, BytesView plaintext, TimePoint now,
                                           const std::optional<crypto::Ed25519PublicKey>& callee_identity = std::nullopt);
  SealResult<BytesView> seal_response_view(const SessionHandle& session, BytesView plaintext, TimePoint now);
  SealResult<OpenedView> open_view(BytesView wire, TimePoint now);

  // Drops one session (e.g. after the peer said "unknown session"); no-op when already gone.
  void forget(const SessionHandle& session);
  // Drops every session with a peer.
  void forget_peer(const crypto::X25519Key& peer_static);
  // Drops sessions past reject_after_time and forgotten timestamps; returns the sessions dropped.
  // Optional (bounds hold without it): call it now and then to free memory early.
  std::size_t prune(TimePoint now);

  bool contains(const SessionHandle& session) const;
  std::size_t session_count() const;
  std::size_t timestamp_count() const;
  const crypto::X25519Key& static_public_key() const;
  const PeerIdentity& identity() const;
  const Config& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stargate::nats::sealed
