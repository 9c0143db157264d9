#include "p2p/protocols/identify/peer_record.hpp"

#include "identify.pb.h"
#include "p2p/envelope.hpp"

namespace stargate::p2p::identify {
namespace {

constexpr std::string_view domain = "libp2p-peer-record";
// The multicodec "libp2p-peer-record" (0x0301), written as two big-endian bytes, as go-libp2p and
// js-libp2p write it (not as a uvarint).
const Bytes payload_type{0x03, 0x01};

}  // namespace

Bytes seal_peer_record(const PeerRecord& record, const crypto::Ed25519PrivateKey& key) {
  pb::identify::PeerRecord payload;
  payload.set_peer_id(record.peer_id.bytes().data(), record.peer_id.bytes().size());
  payload.set_seq(record.seq);
  for (const auto& addr : record.addrs) payload.add_addresses()->set_multiaddr(addr.bytes().data(), addr.bytes().size());
  Bytes payload_bytes(payload.ByteSizeLong());
  payload.SerializeToArray(payload_bytes.data(), static_cast<int>(payload_bytes.size()));
  return seal_envelope(domain, payload_type, payload_bytes, key);
}

Result<PeerRecord> open_peer_record(BytesView envelope_bytes) {
  auto opened = open_envelope(envelope_bytes, domain, payload_type, "signed peer record");
  if (!opened) return opened.error();
  const auto& key = opened->signer;

  pb::identify::PeerRecord payload;
  if (!payload.ParseFromArray(opened->payload.data(), static_cast<int>(opened->payload.size())))
    return make_error("signed peer record: payload is not valid protobuf");
  auto peer_id = crypto::PeerId::from_bytes(as_bytes(payload.peer_id()));
  if (!peer_id) return make_error("signed peer record: " + peer_id.error().message);
  if (*peer_id != crypto::PeerId::from_public_key(key))
    return make_error("signed peer record: record names " + peer_id->to_string() + " but is signed by another key");
  PeerRecord record{*peer_id, payload.seq(), {}};
  for (const auto& info : payload.addresses()) {
    if (auto addr = Multiaddr::from_bytes(as_bytes(info.multiaddr()))) record.addrs.push_back(std::move(*addr));
  }
  return record;
}

}  // namespace stargate::p2p::identify
