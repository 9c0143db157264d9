#include "p2p/protocols/identify/peer_record.hpp"

#include "base/varint.hpp"
#include "identify.pb.h"

namespace stargate::p2p::identify {
namespace {

constexpr std::string_view domain = "libp2p-peer-record";
// The multicodec "libp2p-peer-record" (0x0301), written as two big-endian bytes, as go-libp2p and
// js-libp2p write it (not as a uvarint).
const Bytes payload_type{0x03, 0x01};

// What the envelope signature covers: each field uvarint-length-prefixed (RFC 0002).
Bytes signing_input(BytesView type, BytesView payload) {
  Bytes out;
  append_uvarint(out, domain.size());
  append(out, as_bytes(domain));
  append_uvarint(out, type.size());
  append(out, type);
  append_uvarint(out, payload.size());
  append(out, payload);
  return out;
}

template <class Message>
Bytes serialize(const Message& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

}  // namespace

Bytes seal_peer_record(const PeerRecord& record, const crypto::Ed25519PrivateKey& key) {
  pb::identify::PeerRecord payload;
  payload.set_peer_id(record.peer_id.bytes().data(), record.peer_id.bytes().size());
  payload.set_seq(record.seq);
  for (const auto& addr : record.addrs) payload.add_addresses()->set_multiaddr(addr.bytes().data(), addr.bytes().size());
  Bytes payload_bytes = serialize(payload);

  pb::identify::Envelope envelope;
  auto public_key = crypto::encode_public_key_proto(key.public_key());
  envelope.set_public_key(public_key.data(), public_key.size());
  envelope.set_payload_type(payload_type.data(), payload_type.size());
  envelope.set_payload(payload_bytes.data(), payload_bytes.size());
  auto signature = key.sign(signing_input(payload_type, payload_bytes));
  envelope.set_signature(signature.data(), signature.size());
  return serialize(envelope);
}

Result<PeerRecord> open_peer_record(BytesView envelope_bytes) {
  pb::identify::Envelope envelope;
  if (!envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size())))
    return make_error("signed peer record: envelope is not valid protobuf");
  if (as_bytes(envelope.payload_type()).size() != payload_type.size() ||
      !std::equal(payload_type.begin(), payload_type.end(), as_bytes(envelope.payload_type()).begin()))
    return make_error("signed peer record: envelope does not carry a peer record");
  auto key = crypto::decode_public_key_proto(as_bytes(envelope.public_key()));
  if (!key) return make_error("signed peer record: " + key.error().message);
  if (!key->verify(signing_input(payload_type, as_bytes(envelope.payload())), as_bytes(envelope.signature())))
    return make_error("signed peer record: bad signature");

  pb::identify::PeerRecord payload;
  if (!payload.ParseFromString(envelope.payload())) return make_error("signed peer record: payload is not valid protobuf");
  auto peer_id = crypto::PeerId::from_bytes(as_bytes(payload.peer_id()));
  if (!peer_id) return make_error("signed peer record: " + peer_id.error().message);
  if (*peer_id != crypto::PeerId::from_public_key(*key))
    return make_error("signed peer record: record names " + peer_id->to_string() + " but is signed by another key");
  PeerRecord record{*peer_id, payload.seq(), {}};
  for (const auto& info : payload.addresses()) {
    if (auto addr = Multiaddr::from_bytes(as_bytes(info.multiaddr()))) record.addrs.push_back(std::move(*addr));
  }
  return record;
}

}  // namespace stargate::p2p::identify
