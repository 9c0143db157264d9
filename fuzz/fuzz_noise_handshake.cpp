// libFuzzer target: the libp2p Noise XX handshake fed hostile bytes. The first input byte picks the
// mode and the chunking:
//   mode 0: the rest is the initiator's framed messages, delivered to a responder;
//   mode 1: the rest is the payload of a correctly encrypted message 2, sent to an initiator by a
//           hand-driven responder (so the protobuf parser and the checks see arbitrary payloads);
//   mode 2: the same for message 3, sent to a responder by a hand-driven initiator;
//   mode 3: the rest goes straight to verify_handshake_payload().
#include "p2p/noise/libp2p_handshake.hpp"

#include "base/endian.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace stargate;
using namespace stargate::p2p::noise;
using stargate::crypto::noise::HandshakeState;
namespace patterns = stargate::crypto::noise::patterns;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Fixed keys, so that seeds can hold valid payloads: the hand-driven peer's static key is
// X25519(03 × 32), and a seed's payload may be signed over it by any Ed25519 identity.
Bytes filled(std::uint8_t b) { return Bytes(32, b); }

struct Keys {
  crypto::Ed25519PrivateKey identity = crypto::Ed25519PrivateKey::from_seed(filled(0x01)).value();
  StaticNoiseKey local =
      StaticNoiseKey::from_key(crypto::X25519PrivateKey::from_bytes(filled(0x02)).value(), identity);
  crypto::X25519PrivateKey raw_static = crypto::X25519PrivateKey::from_bytes(filled(0x03)).value();
};

const Keys& keys() {
  static const Keys k;
  return k;
}

Bytes framed(BytesView message) {
  Bytes out;
  append_be16(out, static_cast<std::uint16_t>(message.size()));
  append(out, message);
  return out;
}

// Delivers `wire` in chunks and checks the invariants of receive().
void drive(Libp2pNoiseHandshake& hs, BytesView wire, std::size_t chunk) {
  for (std::size_t at = 0; at < wire.size();) {
    const std::size_t n = std::min(chunk, wire.size() - at);
    auto r = hs.receive(wire.subspan(at, n));
    (void)hs.take_output();
    if (!r) {
      check(hs.failed() && !hs.done());
      check(!hs.receive(wire.subspan(at, n)));  // failure is sticky
      return;
    }
    at += n;
  }
  if (hs.done()) {
    check(!hs.remote_peer_id().empty());
    auto session = hs.take_transport();
    Bytes plaintext;
    (void)session.transport.decrypt(session.leftover, plaintext);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] & 3;
  const std::size_t chunk = (data[0] >> 2) == 0 ? SIZE_MAX : (data[0] >> 2);
  const BytesView body(data + 1, size - 1);
  const Keys& k = keys();

  switch (mode) {
    case 0: {
      Libp2pNoiseHandshake resp(Role::responder, k.local, {"/yamux/1.0.0"});
      drive(resp, body, chunk);
      break;
    }
    case 1: {
      if (body.size() > max_message_size - 32 - 48 - 16) return 0;
      Libp2pNoiseHandshake init(Role::initiator, k.local, {"/yamux/1.0.0"});
      auto raw = HandshakeState::create(patterns::XX(), Role::responder, {}, k.raw_static).value();
      Bytes m1 = init.take_output();
      check(m1.size() == 2 + 32);
      check(raw.read_message(BytesView(m1).subspan(2)).has_value());
      drive(init, framed(raw.write_message(body).value()), chunk);
      break;
    }
    case 2: {
      if (body.size() > max_message_size - 48 - 16) return 0;
      Libp2pNoiseHandshake resp(Role::responder, k.local, {"/yamux/1.0.0"});
      auto raw = HandshakeState::create(patterns::XX(), Role::initiator, {}, k.raw_static).value();
      check(resp.receive(framed(raw.write_message({}).value())).has_value());
      Bytes m2 = resp.take_output();
      check(raw.read_message(BytesView(m2).subspan(2)).has_value());
      drive(resp, framed(raw.write_message(body).value()), chunk);
      break;
    }
    default: {
      auto remote = verify_handshake_payload(body, k.raw_static.public_key());
      if (remote) check(!remote->peer_id.empty());
      break;
    }
  }
  return 0;
}
