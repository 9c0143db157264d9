#include "p2p/protocols/relay/voucher.hpp"

#include "p2p/envelope.hpp"
#include "voucher.pb.h"

namespace stargate::p2p::relay {

Bytes seal_voucher(const Voucher& voucher, const crypto::Ed25519PrivateKey& relay_key) {
  pb::circuit::ReservationVoucher payload;
  payload.set_relay(voucher.relay.bytes().data(), voucher.relay.bytes().size());
  payload.set_peer(voucher.peer.bytes().data(), voucher.peer.bytes().size());
  payload.set_expiration(voucher.expiration);
  Bytes payload_bytes(payload.ByteSizeLong());
  payload.SerializeToArray(payload_bytes.data(), static_cast<int>(payload_bytes.size()));
  return seal_envelope(kVoucherDomain, kVoucherPayloadType, payload_bytes, relay_key);
}

Result<Voucher> open_voucher(BytesView envelope) {
  auto opened = open_envelope(envelope, kVoucherDomain, kVoucherPayloadType, "relay voucher");
  if (!opened) return opened.error();
  pb::circuit::ReservationVoucher payload;
  if (!payload.ParseFromArray(opened->payload.data(), static_cast<int>(opened->payload.size())))
    return make_error("relay voucher: payload is not valid protobuf");
  if (!payload.has_relay() || !payload.has_peer() || !payload.has_expiration())
    return make_error("relay voucher: a required field is missing");
  auto relay = crypto::PeerId::from_bytes(as_bytes(payload.relay()));
  if (!relay) return make_error("relay voucher: relay: " + relay.error().message);
  auto peer = crypto::PeerId::from_bytes(as_bytes(payload.peer()));
  if (!peer) return make_error("relay voucher: peer: " + peer.error().message);
  if (*relay != crypto::PeerId::from_public_key(opened->signer))
    return make_error("relay voucher: names relay " + relay->to_string() + " but is signed by another key");
  return Voucher{std::move(*relay), std::move(*peer), payload.expiration()};
}

}  // namespace stargate::p2p::relay
