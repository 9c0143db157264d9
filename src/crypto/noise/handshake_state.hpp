#pragma once
// Noise HandshakeState (rev 34, §5.3), generic over the handshake pattern, for the suite
// 25519_ChaChaPoly_SHA256. Sans-IO: it turns payloads into handshake messages and back; framing and
// transport belong to the caller.
//
//   auto hs = HandshakeState::create(patterns::XX(), Role::initiator, prologue, my_static).value();
//   Bytes m1 = hs.write_message({}).value();           // -> peer
//   Bytes p2 = hs.read_message(m2).value();            // <- peer
//   Bytes m3 = hs.write_message(payload).value();      // -> peer; hs.is_complete() now
//   auto [send, recv] = hs.split();
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/x25519.hpp"
#include "crypto/noise/cipher_state.hpp"
#include "crypto/noise/symmetric_state.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stargate::crypto::noise {

enum class Token : std::uint8_t { e, s, ee, es, se, ss };
enum class Role : std::uint8_t { initiator, responder };

struct HandshakePattern {
  std::string name;                         // "XX", "IK", ...
  std::vector<Token> initiator_pre_message;  // only `s` is supported in pre-messages
  std::vector<Token> responder_pre_message;
  // Message i is written by the initiator when i is even, by the responder when i is odd.
  std::vector<std::vector<Token>> messages;
};

// The fundamental interactive patterns (Noise §7.5) this code is tested with, and the one-way X
// (§7.4: one message, after which only the initiator sends; the responder's half of split() must
// stay unused). References stay valid for the life of the program.
namespace patterns {
const HandshakePattern& X();
const HandshakePattern& NN();
const HandshakePattern& NK();
const HandshakePattern& XX();
const HandshakePattern& XK();
const HandshakePattern& IK();
const HandshakePattern& IX();
const HandshakePattern& KK();
}  // namespace patterns

// "Noise_<pattern>_25519_ChaChaPoly_SHA256"
std::string protocol_name(const HandshakePattern& pattern);

inline constexpr std::size_t dh_size = 32;

class HandshakeState {
 public:
  // `pattern` must outlive the state (the built-ins above do). `local_static` is required when the
  // pattern has this side send or use `s`; `remote_static` when the peer's `s` is a pre-message
  // (X, IK, NK, XK, KK initiators; KK responders). `ephemeral` fixes the local ephemeral key (test
  // vectors, or a caller that draws its randomness from an injected source): otherwise a fresh one
  // is generated from the system's CSPRNG when the `e` token is written.
  static Result<HandshakeState> create(const HandshakePattern& pattern, Role role, BytesView prologue,
                                       std::optional<crypto::X25519PrivateKey> local_static,
                                       std::optional<crypto::X25519Key> remote_static = std::nullopt,
                                       std::optional<crypto::X25519PrivateKey> ephemeral = std::nullopt);

  HandshakeState(HandshakeState&&) = default;
  HandshakeState& operator=(HandshakeState&&) = default;

  // WriteMessage: appends the next handshake message, carrying `payload`, to `out`. Errors when it is
  // not this side's turn, after completion or failure, or when the message would exceed 65535 bytes.
  Result<void> write_message(BytesView payload, Bytes& out);
  Result<Bytes> write_message(BytesView payload);
  // ReadMessage: checks and consumes the peer's next handshake message and appends its payload to
  // `payload_out`. Errors on truncation, a bad tag, a low-order DH result, a message over 65535
  // bytes, or out of turn. Any error leaves the state failed (the handshake must be abandoned).
  Result<void> read_message(BytesView message, Bytes& payload_out);
  Result<Bytes> read_message(BytesView message);

  // Fixes the local ephemeral key before this side writes its `e` token, for a responder that draws
  // its randomness from an injected source only once the initiator's message has checked out (so a
  // forged message costs no key generation). Errors once the `e` token has been written.
  Result<void> set_ephemeral(crypto::X25519PrivateKey ephemeral);

  bool is_complete() const { return split_.has_value(); }
  bool failed() const { return failed_; }
  // True when the next call should be write_message (false once complete).
  bool is_write_turn() const;
  Role role() const { return role_; }
  const HandshakePattern& pattern() const { return *pattern_; }
  std::size_t message_index() const { return index_; }

  // h: after completion, the unique handshake hash (channel binding).
  const Hash& handshake_hash() const { return symmetric_.handshake_hash(); }
  const std::optional<crypto::X25519Key>& remote_static() const { return rs_; }
  const std::optional<crypto::X25519Key>& remote_ephemeral() const { return re_; }

  // After completion: {send, recv} oriented for this side (the initiator sends with Noise's c1, the
  // responder with c2). Moves the states out; call once. Throws std::logic_error before completion.
  std::pair<CipherState, CipherState> split();

 private:
  HandshakeState(const HandshakePattern& pattern, Role role, std::string_view name);
  // The DH tokens (ee, es, se, ss): the same on both sides but for which keys are local.
  Result<void> mix_dh_token(Token token);
  Result<void> dh_and_mix(const std::optional<crypto::X25519PrivateKey>& local,
                          const std::optional<crypto::X25519Key>& remote, const char* what);
  Result<void> fail(Error e);
  void finish_message();
  bool sends(std::size_t message_index) const;

  const HandshakePattern* pattern_;
  Role role_;
  SymmetricState symmetric_;
  std::optional<crypto::X25519PrivateKey> s_;
  std::optional<crypto::X25519PrivateKey> e_;
  std::optional<crypto::X25519Key> rs_;
  std::optional<crypto::X25519Key> re_;
  std::size_t index_ = 0;
  bool ephemeral_sent_ = false;
  bool failed_ = false;
  std::optional<std::pair<CipherState, CipherState>> split_;  // {send, recv}
};

}  // namespace stargate::crypto::noise
