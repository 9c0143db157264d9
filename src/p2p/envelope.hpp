#pragma once
// Signed envelopes (libp2p RFC 0002): a payload, its type and the signer's public key, signed
// over a domain string so that a signature made for one purpose cannot be replayed for another.
// Used by signed peer records (identify, RFC 0003) and relay reservation vouchers (circuit v2).
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"

#include <string_view>

namespace stargate::p2p {

struct OpenedEnvelope {
  crypto::Ed25519PublicKey signer;
  Bytes payload;
};

// A serialized Envelope holding `payload` of type `payload_type` (a multicodec, as the bytes the
// record's spec writes), signed by `key` under `domain`.
Bytes seal_envelope(std::string_view domain, BytesView payload_type, BytesView payload,
                    const crypto::Ed25519PrivateKey& key);

// Parses an Envelope, checks that its payload type is `payload_type` and that its signature under
// `domain` is valid for the public key it carries. Error messages start with `what` (e.g.
// "signed peer record").
Result<OpenedEnvelope> open_envelope(BytesView envelope, std::string_view domain, BytesView payload_type,
                                     std::string_view what);

}  // namespace stargate::p2p
