#include "nats/sealed/task_envelope.hpp"

#include "base/endian.hpp"
#include "base/result.hpp"
#include "crypto/noise/cipher_state.hpp"
#include "crypto/noise/handshake_state.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace stargate::nats::sealed {

namespace {

TaskError task_fail(TaskErrc code, std::string what) { return TaskError{code, "task envelope: " + std::move(what)}; }

// The payload inside the Noise message, decoded; times still raw (checked after authentication).
struct TaskPayloadFields {
  std::array<std::uint8_t, 32> identity{};
  crypto::Ed25519Signature signature{};
  TaskId task_id;
  std::uint64_t created_ms = 0;
  std::uint64_t expiry_ms = 0;
  TaskKind kind = TaskKind::request;
};

bool known_task_kind(std::uint8_t k) { return k >= 1 && k <= 3; }

std::array<std::uint8_t, task_payload_size> encode_task_payload(const TaskPayloadFields& p) {
  std::array<std::uint8_t, task_payload_size> a{};
  std::copy(p.identity.begin(), p.identity.end(), a.begin());
  std::copy(p.signature.begin(), p.signature.end(), a.begin() + 32);
  std::copy(p.task_id.bytes.begin(), p.task_id.bytes.end(), a.begin() + 96);
  store_be64(a.data() + 112, p.created_ms);
  store_be64(a.data() + 120, p.expiry_ms);
  a[128] = static_cast<std::uint8_t>(p.kind);
  return a;
}

TaskResult<TaskPayloadFields> decode_task_payload(BytesView b) {
  if (b.size() != task_payload_size)
    return task_fail(TaskErrc::malformed, "payload of " + std::to_string(b.size()) + " bytes, expected " +
                                              std::to_string(task_payload_size));
  if (!known_task_kind(b[128])) return task_fail(TaskErrc::malformed, "unknown kind " + std::to_string(b[128]));
  TaskPayloadFields p;
  std::copy_n(b.begin(), 32, p.identity.begin());
  std::copy_n(b.begin() + 32, 64, p.signature.begin());
  std::copy_n(b.begin() + 96, 16, p.task_id.bytes.begin());
  p.created_ms = load_be64(b.data() + 112);
  p.expiry_ms = load_be64(b.data() + 120);
  p.kind = static_cast<TaskKind>(b[128]);
  return p;
}

// Checks the times of a task, as raw unix milliseconds (unsigned: a hostile envelope may carry any
// value, and nothing here may overflow). `now_ms` is absent when sealing.
TaskResult<void> check_task_times(std::uint64_t created_ms, std::uint64_t expiry_ms, std::optional<std::uint64_t> now_ms,
                                  const TaskLimits& limits) {
  if (expiry_ms <= created_ms) return task_fail(TaskErrc::malformed, "expiry is not after creation");
  if (expiry_ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return task_fail(TaskErrc::malformed, "expiry out of range");
  const auto max_lifetime = static_cast<std::uint64_t>(std::max<std::int64_t>(limits.max_lifetime.count(), 0));
  if (expiry_ms - created_ms > max_lifetime)
    return task_fail(TaskErrc::lifetime_too_long, "lifetime of " + std::to_string(expiry_ms - created_ms) +
                                                      " ms exceeds the limit of " + std::to_string(max_lifetime) + " ms");
  if (!now_ms) return {};
  const auto skew = static_cast<std::uint64_t>(std::max<std::int64_t>(limits.clock_skew.count(), 0));
  if (created_ms > *now_ms && created_ms - *now_ms > skew)
    return task_fail(TaskErrc::not_yet_valid, "created " + std::to_string(created_ms - *now_ms) +
                                                  " ms ahead of our clock (tolerance " + std::to_string(skew) + " ms)");
  if (*now_ms >= expiry_ms)
    return task_fail(TaskErrc::expired, "expired " + std::to_string(*now_ms - expiry_ms) + " ms ago");
  return {};
}

// Unix milliseconds of `now`, floored; 0 before 1970.
std::uint64_t task_now_ms(TimePoint now) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch().count();
  return ms < 0 ? 0 : static_cast<std::uint64_t>(ms);
}

Bytes task_prologue(BytesView header) {
  Bytes p = to_bytes(task_prologue_label);
  append(p, header);
  return p;
}

}  // namespace

std::string_view to_string(TaskKind kind) {
  switch (kind) {
    case TaskKind::request: return "request";
    case TaskKind::result: return "result";
    case TaskKind::cancel: return "cancel";
  }
  return "unknown";
}

TaskId TaskId::random(const crypto::RandomSource& random) {
  TaskId id;
  if (random) {
    random(id.bytes);
  } else {
    crypto::random_bytes(id.bytes);
  }
  return id;
}

std::optional<TaskId> TaskId::from_hex(std::string_view hex) {
  Bytes raw;
  if (hex.size() != 32 || !stargate::from_hex(hex, raw)) return std::nullopt;
  TaskId id;
  std::copy(raw.begin(), raw.end(), id.bytes.begin());
  return id;
}

std::string TaskId::hex() const { return to_hex(bytes); }

TaskSender TaskSender::make(crypto::X25519PrivateKey static_key, const crypto::Ed25519PrivateKey& identity) {
  const auto binding = sign_binding(BindingPurpose::task, identity, static_key.public_key());
  return TaskSender{std::move(static_key), identity.public_key(), binding};
}

TaskResult<Bytes> seal_task(const TaskSender& sender, const crypto::X25519Key& recipient_static, const TaskToSeal& task,
                            const crypto::RandomSource& random, const TaskLimits& limits) {
  if (task.body.size() > max_task_body)
    return task_fail(TaskErrc::too_large, "body of " + std::to_string(task.body.size()) +
                                              " bytes exceeds the limit of " + std::to_string(max_task_body));
  if (!known_task_kind(static_cast<std::uint8_t>(task.kind))) return task_fail(TaskErrc::malformed, "unknown kind");
  if (task.created.time_since_epoch().count() < 0) return task_fail(TaskErrc::malformed, "created before 1970");
  const auto created_ms = static_cast<std::uint64_t>(task.created.time_since_epoch().count());
  const auto expiry_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(task.expiry.time_since_epoch().count(), 0));
  if (auto r = check_task_times(created_ms, expiry_ms, std::nullopt, limits); !r) return r.error();

  Bytes out;
  out.reserve(sealed_task_size(task.body.size()));
  out.push_back(task_envelope_type);
  out.push_back(task_envelope_version);
  out.push_back(0);
  out.push_back(0);
  append(out, recipient_static);

  TaskPayloadFields fields;
  fields.identity = sender.identity.bytes();
  fields.signature = sender.binding;
  fields.task_id = task.task_id;
  fields.created_ms = created_ms;
  fields.expiry_ms = expiry_ms;
  fields.kind = task.kind;
  auto hs = crypto::noise::HandshakeState::create(crypto::noise::patterns::X(), crypto::noise::Role::initiator,
                                                  task_prologue(out), sender.static_key, recipient_static,
                                                  crypto::X25519PrivateKey::generate(crypto::or_system_random(random)));
  if (!hs) return task_fail(TaskErrc::malformed, hs.error().message);
  if (auto m = hs->write_message(encode_task_payload(fields), out); !m)
    return task_fail(TaskErrc::malformed, "recipient static key rejected: " + m.error().message);
  if (out.size() != task_body_offset) throw ErrorException("task envelope: header size mismatch");  // a bug here

  // One-way: the initiator's half of Split() seals the body, as the first transport message. It may
  // exceed Noise's 65535-byte message limit, a framing rule (the sealed sessions' bodies do too).
  auto [send, unused] = hs->split();
  out.resize(sealed_task_size(task.body.size()));
  auto r = send.seal_with_nonce_into(0, BytesView(out).first(task_body_offset), task.body, out.data() + task_body_offset);
  if (!r) throw ErrorException("task envelope: " + r.error().message);  // a keyless state: a bug here
  return out;
}

TaskResult<OpenedTask> open_task(BytesView wire, const crypto::X25519PrivateKey& recipient_static, TimePoint now,
                                 const TaskLimits& limits) {
  if (wire.size() > max_task_envelope)
    return task_fail(TaskErrc::too_large, "envelope of " + std::to_string(wire.size()) +
                                              " bytes exceeds the limit of " + std::to_string(max_task_envelope));
  if (wire.size() < task_envelope_overhead)
    return task_fail(TaskErrc::malformed, "envelope of " + std::to_string(wire.size()) + " bytes is shorter than " +
                                              std::to_string(task_envelope_overhead));
  if (wire[0] != task_envelope_type) return task_fail(TaskErrc::malformed, "not a task envelope (type " + std::to_string(wire[0]) + ")");
  if (wire[1] != task_envelope_version)
    return task_fail(TaskErrc::malformed, "unsupported version " + std::to_string(wire[1]));
  if (wire[2] != 0 || wire[3] != 0) return task_fail(TaskErrc::malformed, "reserved bytes are not zero");
  const BytesView header = wire.first(task_header_size);
  const auto& ours = recipient_static.public_key();
  if (!std::equal(ours.begin(), ours.end(), header.begin() + 4))
    return task_fail(TaskErrc::wrong_recipient, "sealed to another static key");

  auto hs = crypto::noise::HandshakeState::create(crypto::noise::patterns::X(), crypto::noise::Role::responder,
                                                  task_prologue(header), recipient_static);
  if (!hs) return task_fail(TaskErrc::malformed, hs.error().message);
  auto payload = hs->read_message(wire.subspan(task_header_size, task_noise_message_size));
  if (!payload) return task_fail(TaskErrc::authentication_failed, "does not decrypt (tampered, or not sealed to our key)");
  auto fields = decode_task_payload(*payload);
  if (!fields) return fields.error();
  const crypto::X25519Key sender_static = *hs->remote_static();

  auto sender = verify_binding(BindingPurpose::task, fields->identity, fields->signature, sender_static);
  if (!sender) return task_fail(TaskErrc::bad_signature, "sender " + sender.error().message);

  auto [unused, recv] = hs->split();
  const BytesView sealed_body = wire.subspan(task_body_offset);
  Bytes body(sealed_body.size() - task_tag_size);
  if (!recv.open_with_nonce_into(0, wire.first(task_body_offset), sealed_body, body.data()))
    return task_fail(TaskErrc::authentication_failed, "body does not authenticate");

  if (auto r = check_task_times(fields->created_ms, fields->expiry_ms, task_now_ms(now), limits); !r) return r.error();

  // Both times are below 2^63 ms (checked): they fit UnixMillis.
  OpenedTask t{std::move(*sender), sender_static, fields->task_id, fields->kind,
               UnixMillis(std::chrono::milliseconds(static_cast<std::int64_t>(fields->created_ms))),
               UnixMillis(std::chrono::milliseconds(static_cast<std::int64_t>(fields->expiry_ms))), std::move(body)};
  return t;
}

}  // namespace stargate::nats::sealed
