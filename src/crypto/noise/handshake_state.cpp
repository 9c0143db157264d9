#include "crypto/noise/handshake_state.hpp"

#include "crypto/random.hpp"

#include <stdexcept>

namespace stargate::crypto::noise {

namespace patterns {

using enum Token;

const HandshakePattern& X() {
  static const HandshakePattern p{"X", {}, {s}, {{e, es, s, ss}}};
  return p;
}
const HandshakePattern& NN() {
  static const HandshakePattern p{"NN", {}, {}, {{e}, {e, ee}}};
  return p;
}
const HandshakePattern& NK() {
  static const HandshakePattern p{"NK", {}, {s}, {{e, es}, {e, ee}}};
  return p;
}
const HandshakePattern& XX() {
  static const HandshakePattern p{"XX", {}, {}, {{e}, {e, ee, s, es}, {s, se}}};
  return p;
}
const HandshakePattern& XK() {
  static const HandshakePattern p{"XK", {}, {s}, {{e, es}, {e, ee}, {s, se}}};
  return p;
}
const HandshakePattern& IK() {
  static const HandshakePattern p{"IK", {}, {s}, {{e, es, s, ss}, {e, ee, se}}};
  return p;
}
const HandshakePattern& IX() {
  static const HandshakePattern p{"IX", {}, {}, {{e, s}, {e, ee, se, s, es}}};
  return p;
}
const HandshakePattern& KK() {
  static const HandshakePattern p{"KK", {s}, {s}, {{e, es, ss}, {e, ee, se}}};
  return p;
}

}  // namespace patterns

std::string protocol_name(const HandshakePattern& pattern) {
  return "Noise_" + pattern.name + "_25519_ChaChaPoly_SHA256";
}

namespace {

bool contains(const std::vector<Token>& tokens, Token t) {
  for (Token x : tokens)
    if (x == t) return true;
  return false;
}

}  // namespace

HandshakeState::HandshakeState(const HandshakePattern& pattern, Role role, std::string_view name)
    : pattern_(&pattern), role_(role), symmetric_(name) {}

bool HandshakeState::sends(std::size_t message_index) const {
  return (message_index % 2 == 0) == (role_ == Role::initiator);
}

bool HandshakeState::is_write_turn() const {
  return !failed_ && !is_complete() && index_ < pattern_->messages.size() && sends(index_);
}

Result<HandshakeState> HandshakeState::create(const HandshakePattern& pattern, Role role, BytesView prologue,
                                              std::optional<crypto::X25519PrivateKey> local_static,
                                              std::optional<crypto::X25519Key> remote_static,
                                              std::optional<crypto::X25519PrivateKey> ephemeral) {
  if (pattern.messages.empty()) return make_error("noise: handshake pattern has no messages");
  for (const auto* pre : {&pattern.initiator_pre_message, &pattern.responder_pre_message})
    for (Token t : *pre)
      if (t != Token::s) return make_error("noise: only `s` is supported in pre-messages");

  const bool initiator = role == Role::initiator;
  const auto& my_pre = initiator ? pattern.initiator_pre_message : pattern.responder_pre_message;
  const auto& their_pre = initiator ? pattern.responder_pre_message : pattern.initiator_pre_message;
  bool need_s = contains(my_pre, Token::s);
  for (std::size_t i = 0; i < pattern.messages.size(); ++i) {
    const bool mine = (i % 2 == 0) == initiator;
    for (Token t : pattern.messages[i]) {
      if (mine && t == Token::s) need_s = true;
      if (t == Token::ss || (t == Token::es && !initiator) || (t == Token::se && initiator)) need_s = true;
    }
  }
  if (need_s && !local_static) return make_error("noise: pattern " + pattern.name + " needs a local static key");
  if (contains(their_pre, Token::s) && !remote_static)
    return make_error("noise: pattern " + pattern.name + " needs the remote static key in advance");

  HandshakeState hs(pattern, role, protocol_name(pattern));
  hs.s_ = std::move(local_static);
  hs.e_ = std::move(ephemeral);
  if (contains(their_pre, Token::s)) hs.rs_ = remote_static;

  hs.symmetric_.mix_hash(prologue);
  // Pre-messages: the initiator's first, then the responder's (§5.3 Initialize).
  const auto& init_pre = pattern.initiator_pre_message;
  const auto& resp_pre = pattern.responder_pre_message;
  if (contains(init_pre, Token::s)) hs.symmetric_.mix_hash(initiator ? hs.s_->public_key() : *hs.rs_);
  if (contains(resp_pre, Token::s)) hs.symmetric_.mix_hash(initiator ? *hs.rs_ : hs.s_->public_key());
  return hs;
}

Result<void> HandshakeState::set_ephemeral(crypto::X25519PrivateKey ephemeral) {
  if (ephemeral_sent_) return make_error("noise: the ephemeral key was already sent");
  e_ = std::move(ephemeral);
  return {};
}

Result<void> HandshakeState::fail(Error e) {
  failed_ = true;
  return e;
}

Result<void> HandshakeState::dh_and_mix(const std::optional<crypto::X25519PrivateKey>& local,
                                        const std::optional<crypto::X25519Key>& remote, const char* what) {
  if (!local || !remote) return make_error(std::string("noise: missing key for ") + what);
  auto shared = local->diffie_hellman(*remote);
  if (!shared) return make_error(std::string("noise: ") + what + " DH failed: " + shared.error().message);
  symmetric_.mix_key(*shared);
  crypto::secure_wipe(*shared);
  return {};
}

Result<void> HandshakeState::mix_dh_token(Token token) {
  const bool initiator = role_ == Role::initiator;
  switch (token) {
    case Token::ee:
      return dh_and_mix(e_, re_, "ee");
    case Token::es:
      return initiator ? dh_and_mix(e_, rs_, "es") : dh_and_mix(s_, re_, "es");
    case Token::se:
      return initiator ? dh_and_mix(s_, re_, "se") : dh_and_mix(e_, rs_, "se");
    case Token::ss:
      return dh_and_mix(s_, rs_, "ss");
    default:
      return make_error("noise: not a DH token");
  }
}

void HandshakeState::finish_message() {
  ++index_;
  if (index_ == pattern_->messages.size()) {
    auto [c1, c2] = symmetric_.split();
    if (role_ == Role::initiator)
      split_.emplace(std::move(c1), std::move(c2));
    else
      split_.emplace(std::move(c2), std::move(c1));
    e_.reset();  // the ephemeral secret is no longer needed
  }
}

Result<void> HandshakeState::write_message(BytesView payload, Bytes& out) {
  if (failed_) return make_error("noise: handshake already failed");
  if (is_complete()) return make_error("noise: handshake already complete");
  if (!sends(index_)) return fail(make_error("noise: write_message out of turn"));

  const std::size_t start = out.size();
  auto give_up = [&](Error e) {
    out.resize(start);
    return fail(std::move(e));
  };
  for (Token t : pattern_->messages[index_]) {
    Result<void> r;
    switch (t) {
      case Token::e:
        if (!e_) e_ = crypto::X25519PrivateKey::generate();
        ephemeral_sent_ = true;
        append(out, e_->public_key());
        symmetric_.mix_hash(e_->public_key());
        break;
      case Token::s:
        r = symmetric_.encrypt_and_hash(s_->public_key(), out);
        break;
      default:
        r = mix_dh_token(t);
        break;
    }
    if (!r) return give_up(r.error());
  }
  if (auto r = symmetric_.encrypt_and_hash(payload, out); !r) return give_up(r.error());
  if (out.size() - start > max_message_size)
    return give_up(make_error("noise: handshake message would exceed 65535 bytes"));
  finish_message();
  return {};
}

Result<Bytes> HandshakeState::write_message(BytesView payload) {
  Bytes out;
  if (auto r = write_message(payload, out); !r) return r.error();
  return out;
}

Result<void> HandshakeState::read_message(BytesView message, Bytes& payload_out) {
  if (failed_) return make_error("noise: handshake already failed");
  if (is_complete()) return make_error("noise: handshake already complete");
  if (sends(index_)) return fail(make_error("noise: read_message out of turn"));
  if (message.size() > max_message_size) return fail(make_error("noise: handshake message exceeds 65535 bytes"));

  BytesView rest = message;
  for (Token t : pattern_->messages[index_]) {
    Result<void> r;
    switch (t) {
      case Token::e: {
        if (rest.size() < dh_size) return fail(make_error("noise: handshake message truncated (ephemeral key)"));
        crypto::X25519Key re{};
        std::copy_n(rest.begin(), dh_size, re.begin());
        rest = rest.subspan(dh_size);
        re_ = re;
        symmetric_.mix_hash(re);
        break;
      }
      case Token::s: {
        const std::size_t len = dh_size + (symmetric_.has_key() ? tag_size : 0);
        if (rest.size() < len) return fail(make_error("noise: handshake message truncated (static key)"));
        Bytes rs;
        if (auto d = symmetric_.decrypt_and_hash(rest.first(len), rs); !d)
          return fail(make_error("noise: cannot decrypt the remote static key: " + d.error().message));
        rest = rest.subspan(len);
        crypto::X25519Key key{};
        std::copy_n(rs.begin(), dh_size, key.begin());
        rs_ = key;
        break;
      }
      default:
        r = mix_dh_token(t);
        break;
    }
    if (!r) return fail(r.error());
  }
  const std::size_t start = payload_out.size();
  if (auto d = symmetric_.decrypt_and_hash(rest, payload_out); !d) {
    payload_out.resize(start);
    return fail(make_error("noise: cannot decrypt the handshake payload: " + d.error().message));
  }
  finish_message();
  return {};
}

Result<Bytes> HandshakeState::read_message(BytesView message) {
  Bytes payload;
  if (auto r = read_message(message, payload); !r) return r.error();
  return payload;
}

std::pair<CipherState, CipherState> HandshakeState::split() {
  if (!split_) throw std::logic_error("noise: split() before the handshake is complete");
  auto result = std::move(*split_);
  *split_ = std::pair<CipherState, CipherState>();  // keeps is_complete() true; the states are now keyless
  return result;
}

}  // namespace stargate::crypto::noise
