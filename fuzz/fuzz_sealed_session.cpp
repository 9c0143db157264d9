// libFuzzer target: the NATS sealed session layer (src/nats/sealed) fed hostile bytes. The first
// input byte picks the mode:
//   mode 0: the rest is a wire message opened by both ends of an established session (the receiver
//           index of a response or transport message is patched to the live one, so the fuzzer
//           reaches the replay window and the AEAD); nothing may ever authenticate;
//   mode 1: the rest is the IK message 1 payload of a correctly encrypted initiation from a hand-driven
//           caller (so the payload decoder, timestamp, replay and signature checks see arbitrary
//           payloads); a leading flag byte may replace identity and signature by valid ones;
//   mode 2: the rest is a list of (position, xor) edits applied to a genuine initiation, response or
//           transport message: only the unedited message may open;
//   mode 3: the rest is a sequence of counters checked against a set model of the replay window.
#include "nats/sealed/session_table.hpp"

#include "base/endian.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"
#include "nats/sealed/replay_window.hpp"
#include "nats/sealed/wire.hpp"
#include "crypto/noise/cipher_state.hpp"
#include "crypto/noise/handshake_state.hpp"
#include "edits.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

using namespace stargate;
using namespace stargate::nats::sealed;
namespace noise = stargate::crypto::noise;

namespace {

// Names the failed check on stderr: the fuzzer's tables carry state from input to input, so a
// crash may not reproduce from its input alone.
void check_at(bool ok, int line) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_sealed_session: check at line %d failed\n", line);
  std::abort();
}
#define check(ok) check_at((ok), __LINE__)

const TimePoint t0 = TimePoint{} + std::chrono::seconds(1'700'000'000);

Bytes filled(std::uint8_t b) { return Bytes(32, b); }

struct World {
  crypto::Ed25519PrivateKey caller_id = crypto::Ed25519PrivateKey::from_seed(filled(0x01)).value();
  crypto::Ed25519PrivateKey callee_id = crypto::Ed25519PrivateKey::from_seed(filled(0x02)).value();
  crypto::X25519PrivateKey caller_static = crypto::X25519PrivateKey::from_bytes(filled(0x03)).value();
  crypto::X25519PrivateKey callee_static = crypto::X25519PrivateKey::from_bytes(filled(0x04)).value();
  // An established pair, and genuine messages of each type (kept unopened in `genuine_*`).
  SessionTable caller{caller_static, caller_id};
  SessionTable callee{callee_static, callee_id};
  Bytes genuine_initiation;
  Bytes genuine_response;
  Bytes genuine_transport;
  std::uint32_t caller_index = 0;
  std::uint32_t callee_index = 0;

  World() {
    genuine_initiation = SessionTable(caller_static, caller_id).seal_request(callee_static.public_key(),
                                                                             as_bytes("genuine request"), t0)
                             .value()
                             .wire;
    auto s = caller.seal_request(callee_static.public_key(), as_bytes("hello"), t0).value();
    auto in = callee.open(s.wire, t0).value();
    genuine_response = callee.seal_response(in.session, as_bytes("genuine response"), t0).value();
    auto back = caller.open(callee.seal_response(in.session, as_bytes("first"), t0).value(), t0).value();
    genuine_transport = caller.seal_request(callee_static.public_key(), as_bytes("genuine transport"), t0).value().wire;
    caller_index = s.session.index;
    callee_index = in.session.index;
    (void)back;
  }
};

World& world() {
  static World w;
  return w;
}

void check_error(const SealError& e) {
  check(!to_string(e.code).empty() && to_string(e.code) != "unknown");
  check(!e.message.empty());
}

// An initiation from a hand-driven caller whose IK payload is `payload`; the body "x" is sealed with
// the early key found at bytes 104..136 of the payload (zeros when it is shorter).
Bytes hand_initiation(const World& w, BytesView payload) {
  Bytes out;
  write_initiation_header(out, 0x01020304, 0);
  auto hs = noise::HandshakeState::create(noise::patterns::IK(), noise::Role::initiator,
                                          handshake_prologue(BytesView(out).first(8)), w.caller_static,
                                          w.callee_static.public_key())
                .value();
  append(out, hs.write_message(payload).value());
  noise::CipherState::Key k{};
  if (payload.size() >= handshake_payload_size) std::copy_n(payload.begin() + 104, 32, k.begin());
  noise::CipherState early(k);
  const Bytes ad = out;
  append(out, early.seal_with_nonce(0, ad, as_bytes("x")).value());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] & 3;
  const BytesView body(data + 1, size - 1);
  World& w = world();

  switch (mode) {
    case 0: {
      Bytes msg(body.begin(), body.end());
      if (msg.size() >= 8 && msg[0] == static_cast<std::uint8_t>(MessageType::transport))
        store_be32(msg.data() + 4, w.callee_index);
      // The fuzzer can learn a genuine message byte by byte from mode 2's comparisons with it
      // (libFuzzer hooks memcmp) and send it here: the first copy of a genuine message opens.
      auto r = w.callee.open(msg, t0);
      check(!r || msg == w.genuine_transport);
      if (!r) check_error(r.error());
      if (msg.size() >= 8 && (msg[0] == static_cast<std::uint8_t>(MessageType::transport) ||
                              msg[0] == static_cast<std::uint8_t>(MessageType::response)))
        store_be32(msg.data() + 4, w.caller_index);
      auto r2 = w.caller.open(msg, t0);
      check(!r2 || msg == w.genuine_response);
      if (!r2) check_error(r2.error());
      break;
    }
    case 1: {
      if (body.empty() || body.size() > 60000) return 0;
      Bytes payload(body.begin() + 1, body.end());
      if ((body[0] & 1) && payload.size() >= handshake_payload_size) {
        const auto& id = w.caller_id.public_key().bytes();
        std::copy(id.begin(), id.end(), payload.begin() + 8);
        const auto sig = w.caller_id.sign(static_key_signature_message(w.caller_static.public_key()));
        std::copy(sig.begin(), sig.end(), payload.begin() + 40);
      }
      SessionTable callee(w.callee_static, w.callee_id);
      auto r = callee.open(hand_initiation(w, payload), t0);
      if (r) {
        check(payload.size() == handshake_payload_size);
        check(as_string(r->plaintext) == "x");
        check(r->peer && r->peer->public_key == w.caller_id.public_key());
        check(r->peer_static == w.caller_static.public_key());
        check(callee.session_count() == 1 && callee.timestamp_count() == 1);
      } else {
        check_error(r.error());
        check(callee.session_count() == 0 && callee.timestamp_count() == 0);
      }
      break;
    }
    case 2: {
      if (body.empty()) return 0;
      const int which = body[0] % 3;
      const Bytes& original = which == 0 ? w.genuine_initiation : which == 1 ? w.genuine_response : w.genuine_transport;
      const Bytes msg = stargate::fuzz::apply_edits(original, body.subspan(1));
      if (which == 0) {
        SessionTable callee(w.callee_static, w.callee_id);
        auto r = callee.open(msg, t0);
        check(r.has_value() == (msg == original));
        if (!r) check_error(r.error());
      } else {
        // Opening on the live tables would consume the genuine message; check only edited ones.
        if (msg == original) return 0;
        auto r = which == 1 ? w.caller.open(msg, t0) : w.callee.open(msg, t0);
        check(!r);
        check_error(r.error());
      }
      break;
    }
    default: {
      ReplayWindow win;
      std::set<std::uint64_t> seen;
      std::uint64_t top = 0;
      for (std::size_t i = 0; i + 1 < body.size(); i += 2) {
        const std::uint64_t n = std::uint64_t{load_be16(body.data() + i)} * 3;
        const bool too_old = !seen.empty() && n + ReplayWindow::window_size <= top;
        const bool ok = !seen.contains(n) && !too_old;
        check(win.can_accept(n) == ok);
        if (ok) {
          win.accept(n);
          seen.insert(n);
          top = std::max(top, n);
        }
      }
      break;
    }
  }
  return 0;
}
