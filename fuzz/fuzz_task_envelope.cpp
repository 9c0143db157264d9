// libFuzzer target: the NATS task envelopes (src/nats/sealed/task_envelope, task_replay_guard) fed
// hostile bytes. The first input byte picks the mode:
//   mode 0: the rest is an envelope opened with both agents' static keys; what opens must be
//           exactly what seal_task writes for its fields (every sender here uses one fixed
//           ephemeral key, so that is checkable): no forgery, no second encoding. The seed corpus
//           holds genuine envelopes;
//   mode 1: the rest is a flag byte, then the Noise payload (and a body) of an envelope from a
//           hand-driven sender that encrypts whatever it is given, so the payload decoder, the time,
//           kind and signature checks see arbitrary fields; flags may put a valid identity and
//           signature (bit 0) or valid times (bit 2) in place, or make the whole rest the payload
//           (bit 1). What opens must likewise re-seal, through seal_task, to the same bytes;
//   mode 2: the rest is a genuine envelope's number, then a list of (position, xor) edits applied
//           to it (fuzz/edits.hpp): only the unedited envelope may open;
//   mode 3: the rest is a sequence of replay guard operations checked against a map model.
#include "nats/sealed/task_envelope.hpp"

#include "base/endian.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/noise/handshake_state.hpp"
#include "crypto/x25519.hpp"
#include "nats/sealed/task_replay_guard.hpp"
#include "check.hpp"
#include "edits.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

using namespace stargate;
using namespace stargate::nats::sealed;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + std::chrono::seconds(1'700'000'000);
const UnixMillis t0_ms = std::chrono::floor<std::chrono::milliseconds>(t0);

Bytes filled(std::uint8_t b) { return Bytes(32, b); }

// Ephemeral keys in this target are 32 bytes of `fill`: genuine envelopes are reproducible, and a
// hand-built one can be re-sealed byte for byte.
crypto::RandomSource fixed_ephemeral(std::uint8_t fill) {
  return [fill](MutableBytesView out) { std::fill(out.begin(), out.end(), fill); };
}

struct World {
  crypto::Ed25519PrivateKey caller_id = crypto::Ed25519PrivateKey::from_seed(filled(0x11)).value();
  crypto::X25519PrivateKey caller_static = crypto::X25519PrivateKey::from_bytes(filled(0x12)).value();
  crypto::Ed25519PrivateKey callee_id = crypto::Ed25519PrivateKey::from_seed(filled(0x13)).value();
  crypto::X25519PrivateKey callee_static = crypto::X25519PrivateKey::from_bytes(filled(0x14)).value();
  TaskSender caller = TaskSender::make(caller_static, caller_id);
  TaskSender callee = TaskSender::make(callee_static, callee_id);
  TaskId id{};
  // Sealed to the callee: a request and a cancel; to the caller: a result.
  std::vector<Bytes> to_callee, to_caller;

  World() {
    id.bytes.fill(0x42);
    const std::string request = R"({"jsonrpc":"2.0","method":"echo","params":["hi"],"id":1})";
    const std::string result = R"({"jsonrpc":"2.0","result":"hi","id":1})";
    to_callee.push_back(seal(caller, callee_static.public_key(), TaskKind::request, request));
    to_callee.push_back(seal(caller, callee_static.public_key(), TaskKind::cancel, ""));
    to_caller.push_back(seal(callee, caller_static.public_key(), TaskKind::result, result));
  }

  Bytes seal(const TaskSender& from, const crypto::X25519Key& to, TaskKind kind, std::string_view body) const {
    return seal_task(from, to, TaskToSeal{id, kind, t0_ms, t0_ms + 1h, as_bytes(body)}, fixed_ephemeral(0x05)).value();
  }
};

World& world() {
  static World w;
  return w;
}

void check_task_error(const TaskError& e) {
  check(!e.message.empty());
  check(to_string(e.code) != "unknown");
}

// Every envelope in this target is sealed with the ephemeral key 05..05, so one that opens must be
// exactly what seal_task writes for its fields: no forgery, and no second encoding of the same task.
bool is_genuine_sealing(const TaskSender& from, const crypto::X25519Key& to, const OpenedTask& t, BytesView wire) {
  auto again = seal_task(from, to, TaskToSeal{t.task_id, t.kind, t.created, t.expiry, t.body}, fixed_ephemeral(0x05));
  return again && std::equal(again->begin(), again->end(), wire.begin(), wire.end());
}

// An envelope from the caller to the callee whose Noise payload is `payload` (any length) and body
// `body`, encrypted as seal_task would with the ephemeral key 05..05.
Bytes hand_envelope(const World& w, BytesView payload, BytesView body) {
  Bytes out = {task_envelope_type, task_envelope_version, 0, 0};
  append(out, w.callee_static.public_key());
  Bytes prologue = to_bytes(task_prologue_label);
  append(prologue, out);
  auto hs = crypto::noise::HandshakeState::create(crypto::noise::patterns::X(), crypto::noise::Role::initiator, prologue,
                                                  w.caller_static, w.callee_static.public_key(),
                                                  crypto::X25519PrivateKey::from_bytes(filled(0x05)).value())
                .value();
  append(out, hs.write_message(payload).value());
  auto [send, unused] = hs.split();
  append(out, send.seal_with_nonce(0, out, body).value());
  return out;
}

void fuzz_open_raw(BytesView msg) {
  World& w = world();
  auto a = open_task(msg, w.callee_static, t0);
  if (a) {
    check(a->sender.public_key == w.caller_id.public_key() && a->sender_static == w.caller_static.public_key());
    check(is_genuine_sealing(w.caller, w.callee_static.public_key(), *a, msg));
  } else {
    check_task_error(a.error());
  }
  auto b = open_task(msg, w.caller_static, t0);
  if (b) {
    check(b->sender.public_key == w.callee_id.public_key());
    check(is_genuine_sealing(w.callee, w.caller_static.public_key(), *b, msg));
  } else {
    check_task_error(b.error());
  }
}

void fuzz_hand_payload(BytesView in) {
  if (in.empty() || in.size() > 60000) return;
  World& w = world();
  const std::uint8_t flags = in[0];
  in = in.subspan(1);
  const bool whole = flags & 2;
  const std::size_t n = whole ? in.size() : std::min(in.size(), task_payload_size);
  Bytes payload(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
  const BytesView body = in.subspan(n);
  if ((flags & 1) && payload.size() >= 96) {
    const auto& key = w.caller_id.public_key().bytes();
    std::copy(key.begin(), key.end(), payload.begin());
    std::copy(w.caller.binding.begin(), w.caller.binding.end(), payload.begin() + 32);
  }
  if ((flags & 4) && payload.size() >= 128) {
    store_be64(payload.data() + 112, static_cast<std::uint64_t>(t0_ms.time_since_epoch().count()));
    store_be64(payload.data() + 120, static_cast<std::uint64_t>((t0_ms + 1h).time_since_epoch().count()));
  }
  const Bytes wire = hand_envelope(w, payload, body);
  auto r = open_task(wire, w.callee_static, t0);
  if (!r) {
    check_task_error(r.error());
    return;
  }
  check(payload.size() == task_payload_size);
  check(r->sender.public_key == w.caller_id.public_key());
  check(std::equal(body.begin(), body.end(), r->body.begin(), r->body.end()));
  check(r->created < r->expiry && t0 < r->expiry && r->expiry - r->created <= TaskLimits{}.max_lifetime);
  check(r->created <= t0 + TaskLimits{}.clock_skew);
  check(is_genuine_sealing(w.caller, w.callee_static.public_key(), *r, wire));
}

void fuzz_edit_genuine(BytesView in) {
  if (in.empty()) return;
  World& w = world();
  const std::size_t which = in[0] % (w.to_callee.size() + w.to_caller.size());
  const bool for_callee = which < w.to_callee.size();
  const Bytes& original = for_callee ? w.to_callee[which] : w.to_caller[which - w.to_callee.size()];
  const Bytes msg = fuzz::apply_edits(original, in.subspan(1));
  auto r = open_task(msg, for_callee ? w.callee_static : w.caller_static, t0);
  check(r.has_value() == (msg == original));
  if (!r) check_task_error(r.error());
}

// Pairs (op, arg): admit a task (arg: sender bit, kind, id, lifetime), let time pass, or prune; the
// guard must answer exactly as a map that forgets entries retain ms after their expiry.
void fuzz_guard(BytesView in) {
  World& w = world();
  const std::chrono::milliseconds retain = 500ms;
  TaskReplayGuard guard(TaskReplayGuardConfig{4, retain});
  std::map<std::tuple<int, int, int>, UnixMillis> model;
  TimePoint now = t0;
  auto model_prune = [&] {
    const UnixMillis now_ms = std::chrono::floor<std::chrono::milliseconds>(now);
    std::erase_if(model, [&](const auto& e) { return e.second < now_ms - retain; });
  };
  for (std::size_t i = 0; i + 1 < in.size(); i += 2) {
    const std::uint8_t op = in[i] % 3, arg = in[i + 1];
    if (op == 0) {
      const int sender = arg & 1, kind = 1 + (arg >> 1) % 3, id = (arg >> 3) & 3;
      const UnixMillis expiry = std::chrono::floor<std::chrono::milliseconds>(now) + std::chrono::milliseconds(
                                                                                         (arg >> 5) * 300);
      TaskId task_id{};
      task_id.bytes.fill(static_cast<std::uint8_t>(id));
      const auto& key = sender ? w.callee_id.public_key() : w.caller_id.public_key();
      auto r = guard.admit(key, static_cast<TaskKind>(kind), task_id, expiry, now);
      model_prune();
      TaskErrc want{};
      bool ok = false;
      if (std::chrono::floor<std::chrono::milliseconds>(now) >= expiry) {
        want = TaskErrc::expired;
      } else if (model.contains({sender, kind, id})) {
        want = TaskErrc::replay;
      } else if (model.size() >= 4) {
        want = TaskErrc::guard_full;
      } else {
        ok = true;
        model[{sender, kind, id}] = expiry;
      }
      check(r.has_value() == ok);
      if (!r) check(r.error().code == want);
    } else if (op == 1) {
      now += std::chrono::milliseconds(arg * 100);
    } else {
      guard.prune(now);
      model_prune();
    }
    check(guard.size() == model.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const BytesView rest(data + 1, size - 1);
  switch (data[0] & 3) {
    case 0: fuzz_open_raw(rest); break;
    case 1: fuzz_hand_payload(rest); break;
    case 2: fuzz_edit_genuine(rest); break;
    default: fuzz_guard(rest); break;
  }
  return 0;
}
