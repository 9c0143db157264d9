#pragma once
// Circuit Relay v2 reservation vouchers: the relay's signed statement that it will relay for
// `peer` until `expiration`, sealed as a signed envelope (RFC 0002) with domain
// "libp2p-relay-rsvp" and payload type 0x0302 (multicodec "libp2p-relay-rsvp", written as the two
// bytes {0x03, 0x02}, as go-libp2p writes it). The spec makes vouchers advisory: a client can
// check one, but nothing requires it to be presented later.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"

#include <cstdint>
#include <string_view>

namespace stargate::p2p::relay {

inline constexpr std::string_view kVoucherDomain = "libp2p-relay-rsvp";
inline constexpr std::uint8_t kVoucherPayloadType[] = {0x03, 0x02};

struct Voucher {
  crypto::PeerId relay;
  crypto::PeerId peer;
  std::uint64_t expiration = 0;  // Unix time, seconds (UTC)
  friend bool operator==(const Voucher&, const Voucher&) = default;
};

// A serialized envelope holding `voucher`, signed by the relay's key. `voucher.relay` should be
// the PeerId of `relay_key`; open_voucher() rejects a voucher where it is not.
Bytes seal_voucher(const Voucher& voucher, const crypto::Ed25519PrivateKey& relay_key);

// Checks the envelope (payload type, domain, signature), that every field is present and that
// the voucher names its signer as the relay. Expiry is the caller's to check against its clock.
Result<Voucher> open_voucher(BytesView envelope);

}  // namespace stargate::p2p::relay
