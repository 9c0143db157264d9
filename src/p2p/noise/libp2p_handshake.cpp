#include "p2p/noise/libp2p_handshake.hpp"

#include "base/endian.hpp"
#include "noise.pb.h"

#include <stdexcept>

namespace stargate::p2p::noise {

namespace {

crypto::noise::HandshakeState make_xx(Role role, const StaticNoiseKey& local) {
  // XX with a local static key never fails to initialise.
  return crypto::noise::HandshakeState::create(crypto::noise::patterns::XX(), role, {}, local.key()).value();
}

}  // namespace

Bytes static_key_signature_message(const crypto::X25519Key& static_public_key) {
  Bytes msg = to_bytes(static_key_signature_prefix);
  append(msg, static_public_key);
  return msg;
}

StaticNoiseKey::StaticNoiseKey(crypto::X25519PrivateKey key, const crypto::Ed25519PrivateKey& identity)
    : key_(std::move(key)),
      signature_(identity.sign(static_key_signature_message(key_.public_key()))),
      identity_(identity.public_key()),
      identity_proto_(crypto::encode_public_key_proto(identity.public_key())) {}

StaticNoiseKey StaticNoiseKey::generate(const crypto::Ed25519PrivateKey& identity) {
  return StaticNoiseKey(crypto::X25519PrivateKey::generate(), identity);
}

StaticNoiseKey StaticNoiseKey::from_key(crypto::X25519PrivateKey key, const crypto::Ed25519PrivateKey& identity) {
  return StaticNoiseKey(std::move(key), identity);
}

Bytes encode_handshake_payload(const StaticNoiseKey& local, std::span<const std::string> stream_muxers) {
  pb::noise::NoiseHandshakePayload msg;
  msg.set_identity_key(local.identity_key_proto().data(), local.identity_key_proto().size());
  msg.set_identity_sig(local.signature().data(), local.signature().size());
  if (!stream_muxers.empty()) {
    auto* ext = msg.mutable_extensions();
    for (const auto& m : stream_muxers) ext->add_stream_muxers(m);
  }
  Bytes out(msg.ByteSizeLong());
  msg.SerializeWithCachedSizesToArray(out.data());
  return out;
}

Result<RemoteIdentity> verify_handshake_payload(BytesView payload, const crypto::X25519Key& remote_static,
                                                const std::optional<crypto::PeerId>& expected) {
  pb::noise::NoiseHandshakePayload msg;
  if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return make_error("noise: malformed handshake payload (not a NoiseHandshakePayload protobuf)");
  if (!msg.has_identity_key() || msg.identity_key().empty())
    return make_error("noise: handshake payload lacks identity_key");
  if (!msg.has_identity_sig() || msg.identity_sig().empty())
    return make_error("noise: handshake payload lacks identity_sig");

  auto key = crypto::decode_public_key_proto(as_bytes(msg.identity_key()));
  if (!key) return make_error("noise: bad identity_key in handshake payload: " + key.error().message);

  RemoteIdentity remote{*key, crypto::PeerId::from_public_key(*key), {}, {}};
  if (expected && remote.peer_id != *expected)
    return make_error("noise: peer id mismatch: expected " + expected->to_string() + ", remote is " +
                      remote.peer_id.to_string());

  if (!remote.public_key.verify(static_key_signature_message(remote_static), as_bytes(msg.identity_sig())))
    return make_error("noise: invalid identity_sig: the identity key of " + remote.peer_id.to_string() +
                      " did not sign the Noise static key");

  if (msg.has_extensions()) {
    const auto& ext = msg.extensions();
    remote.stream_muxers.assign(ext.stream_muxers().begin(), ext.stream_muxers().end());
    for (const auto& h : ext.webtransport_certhashes()) remote.webtransport_certhashes.push_back(to_bytes(h));
  }
  return remote;
}

Libp2pNoiseHandshake::Libp2pNoiseHandshake(Role role, const StaticNoiseKey& local,
                                           std::vector<std::string> stream_muxers,
                                           std::optional<crypto::PeerId> expected_remote)
    : hs_(make_xx(role, local)),
      local_payload_(encode_handshake_payload(local, stream_muxers)),
      expected_(std::move(expected_remote)) {
  // Message 1 (-> e) carries no payload: it has neither secrecy nor authentication.
  if (role == Role::initiator) (void)send_message({});
}

Result<void> Libp2pNoiseHandshake::fail(Error e) {
  failed_ = true;
  input_.clear();
  leftover_.clear();
  remote_.reset();  // early data of a failed handshake is discarded (spec)
  return e;
}

Result<void> Libp2pNoiseHandshake::send_message(BytesView payload) {
  const std::size_t start = output_.size();
  output_.resize(start + frame_header_size);
  if (auto r = hs_.write_message(payload, output_); !r) {
    output_.resize(start);
    return fail(r.error());
  }
  const std::size_t len = output_.size() - start - frame_header_size;  // <= 65535, checked by write_message
  store_be16(output_.data() + start, static_cast<std::uint16_t>(len));
  return {};
}

Result<void> Libp2pNoiseHandshake::on_message(BytesView message) {
  Bytes payload;
  if (auto r = hs_.read_message(message, payload); !r) return fail(r.error());
  switch (hs_.message_index()) {
    case 1:  // responder read `-> e`; any payload there is ignored, it is unauthenticated
      return send_message(local_payload_);
    case 2: {  // initiator read `<- e, ee, s, es` with the responder's payload
      auto remote = verify_handshake_payload(payload, *hs_.remote_static(), expected_);
      if (!remote) return fail(remote.error());
      remote_ = std::move(*remote);
      return send_message(local_payload_);
    }
    case 3: {  // responder read `-> s, se` with the initiator's payload
      auto remote = verify_handshake_payload(payload, *hs_.remote_static(), expected_);
      if (!remote) return fail(remote.error());
      remote_ = std::move(*remote);
      return {};
    }
    default:
      return fail(make_error("noise: unexpected handshake message"));
  }
}

Result<void> Libp2pNoiseHandshake::receive(BytesView bytes) {
  if (failed_) return make_error("noise: handshake already failed");
  while (!bytes.empty() && !done()) {
    if (input_.size() < frame_header_size) {
      const std::size_t take = std::min(frame_header_size - input_.size(), bytes.size());
      append(input_, bytes.first(take));
      bytes = bytes.subspan(take);
      if (input_.size() < frame_header_size) break;
    }
    const std::size_t len = load_be16(input_.data());
    const std::size_t take = std::min(frame_header_size + len - input_.size(), bytes.size());
    append(input_, bytes.first(take));
    bytes = bytes.subspan(take);
    if (input_.size() < frame_header_size + len) break;
    Bytes frame = std::exchange(input_, {});
    if (auto r = on_message(BytesView(frame).subspan(frame_header_size)); !r) return r;
  }
  if (done()) append(leftover_, bytes);
  return {};
}

NoiseSession Libp2pNoiseHandshake::take_transport() {
  if (!done()) throw std::logic_error("noise: take_transport() before the handshake is done");
  auto [send, recv] = hs_.split();
  return NoiseSession{SecureTransport(std::move(send), std::move(recv)), std::exchange(leftover_, {})};
}

}  // namespace stargate::p2p::noise
