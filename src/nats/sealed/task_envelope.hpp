#pragma once
// Task envelopes: a task for an agent that may be offline, queued in NATS JetStream for minutes to
// days, sealed end to end in one self-contained message. A sealed session (session_table.hpp) cannot
// carry it: its first message is refused once older than the 120 s clock skew, and a session ends
// after 600 s. So an envelope is the one-way Noise_X_25519_ChaChaPoly_SHA256 to the recipient's
// announced X25519 static key (crypto::derive_session_static_key): sender authentication and
// confidentiality without an answer from the recipient. Sans-IO: no clock (`now` is passed in), no
// socket; the ephemeral key comes from an injected source. Wire format and rationale:
// docs/nats-sealed-session.md, "Task envelopes".
//
//   caller                                                   callee (maybe days later)
//   auto me = TaskSender::make(my_static, my_identity);      // once: signs the binding
//   TaskToSeal t{TaskId::random(), TaskKind::request, created, expiry, request_json};
//   Bytes wire = seal_task(me, callee_static, t).value();    // -> JetStream
//                                                            auto in = open_task(wire, my_static, now);
//                                                            guard.admit(*in, now);   // replays stop here
//                                                            // run in->body; then, same task id:
//                                                            seal_task(me, in->sender_static,
//                                                                      {in->task_id, TaskKind::result, ...});
//
// open_task authenticates and checks times; it remembers nothing. Replays are the TaskReplayGuard's
// job (task_replay_guard.hpp): admit every opened envelope there before acting on it.
//
// The layer above correlates a result with its request by task id, and must check that the result's
// sender is the agent the request was sent to (OpenedTask::sender_static or sender.public_key).
//
// Wire layout (integers big-endian):
//   0   u8   type = 0x54 ('T')        1  u8 version = 1      2  u16 reserved = 0
//   4   32   recipient X25519 static key (in clear: a misdelivered envelope is told apart at once)
//   36  225  Noise X message: e (32) | encrypted s (32+16) | encrypted payload (129+16)
//   261 ...  body: ChaCha20-Poly1305(Noise Split() c1, nonce 0, ad = bytes 0..261) of the body
// Noise prologue: "stargate-nats-task-v1" || bytes 0..36. The payload (129 bytes):
//   0   32   sender Ed25519 public key
//   32  64   Ed25519 signature over "stargate-nats-task-static-key:" || sender X25519 static key
//   96  16   task id
//   112 u64  created (unix ms)       120 u64 expiry (unix ms)       128 u8 kind
#include "base/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "nats/sealed/identity_binding.hpp"
#include "nats/sealed/task_errors.hpp"

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::nats::sealed {

// Wall-clock time, as session_table.hpp declares it (same type).
using TimePoint = std::chrono::system_clock::time_point;
// The envelope's own times: unix milliseconds, as on the wire.
using UnixMillis = std::chrono::sys_time<std::chrono::milliseconds>;

inline constexpr std::uint8_t task_envelope_type = 0x54;  // 'T': no session type (1-3), chunk (0xC5) or '{'
inline constexpr std::uint8_t task_envelope_version = 1;
inline constexpr std::string_view task_prologue_label = "stargate-nats-task-v1";

inline constexpr std::size_t task_tag_size = 16;
inline constexpr std::size_t task_header_size = 4 + 32;                                                    // 36
inline constexpr std::size_t task_payload_size = 32 + 64 + 16 + 8 + 8 + 1;                                 // 129
inline constexpr std::size_t task_noise_message_size = 32 + (32 + task_tag_size) + (task_payload_size + task_tag_size);  // 225
inline constexpr std::size_t task_body_offset = task_header_size + task_noise_message_size;                // 261
// What an envelope adds to its body.
inline constexpr std::size_t task_envelope_overhead = task_body_offset + task_tag_size;                    // 277
// The largest envelope sealed or opened: under a nats-server's default max_payload (1 MiB =
// 1,048,576 bytes, headers included), leaving 48,576 bytes for the headers JetStream publishing adds.
inline constexpr std::size_t max_task_envelope = 1'000'000;
// The largest body: 999,723 bytes.
inline constexpr std::size_t max_task_body = max_task_envelope - task_envelope_overhead;

constexpr std::size_t sealed_task_size(std::size_t body_size) { return task_envelope_overhead + body_size; }

enum class TaskKind : std::uint8_t { request = 1, result = 2, cancel = 3 };
std::string_view to_string(TaskKind kind);

// 16 random bytes naming a task; a result or cancel carries the id of the request it is about.
struct TaskId {
  std::array<std::uint8_t, 16> bytes{};

  // From `random` (crypto::random_bytes when empty).
  static TaskId random(const crypto::RandomSource& random = {});
  // Exactly 32 hex characters.
  static std::optional<TaskId> from_hex(std::string_view hex);
  std::string hex() const;  // 32 lowercase hex characters
  friend auto operator<=>(const TaskId&, const TaskId&) = default;
};

struct TaskLimits {
  // Longest expiry - created accepted (sealing and opening). It bounds how long a replay guard must
  // remember an envelope, and so how long a flood of them can fill it.
  std::chrono::milliseconds max_lifetime = std::chrono::days(7);
  // How far in the future `created` may be (the sender's clock ahead of ours): not_yet_valid beyond.
  std::chrono::milliseconds clock_skew = std::chrono::seconds(120);
};

// The sender's side: its X25519 static key (results come back sealed to it) and its identity's
// signature binding that key for tasks, made once.
struct TaskSender {
  crypto::X25519PrivateKey static_key;
  crypto::Ed25519PublicKey identity;
  crypto::Ed25519Signature binding{};  // sign_binding(BindingPurpose::task, identity, static public key)

  static TaskSender make(crypto::X25519PrivateKey static_key, const crypto::Ed25519PrivateKey& identity);
};

struct TaskToSeal {
  TaskId task_id;
  TaskKind kind = TaskKind::request;
  UnixMillis created{};  // the sender's now
  UnixMillis expiry{};   // after created, at most TaskLimits::max_lifetime after it
  BytesView body;        // opaque: a JSON-RPC request or response; at most max_task_body bytes
};

struct OpenedTask {
  PeerIdentity sender;                // verified: Ed25519 key, agent id, PeerId
  crypto::X25519Key sender_static{};  // seal the result to this key
  TaskId task_id;
  TaskKind kind = TaskKind::request;
  UnixMillis created{};
  UnixMillis expiry{};
  Bytes body;
};

// Seals `task` to the owner of `recipient_static`. The ephemeral key comes from `random`
// (crypto::random_bytes when empty). Errors: too_large (body over max_task_body), malformed (an
// unknown kind, created before 1970, expiry not after created, a low-order recipient key),
// lifetime_too_long.
TaskResult<Bytes> seal_task(const TaskSender& sender, const crypto::X25519Key& recipient_static, const TaskToSeal& task,
                            const crypto::RandomSource& random = {}, const TaskLimits& limits = {});

// Opens an envelope sealed to `recipient_static`'s public key, checking, in this order: size
// (too_large, malformed), header (malformed), recipient (wrong_recipient), the Noise message and
// payload (authentication_failed, malformed), the sender's binding (bad_signature), the body
// (authentication_failed), then the times (malformed, lifetime_too_long, not_yet_valid, expired):
// every time error is about an authentic envelope. Remembers nothing: see TaskReplayGuard.
TaskResult<OpenedTask> open_task(BytesView wire, const crypto::X25519PrivateKey& recipient_static, TimePoint now,
                                 const TaskLimits& limits = {});

}  // namespace stargate::nats::sealed
