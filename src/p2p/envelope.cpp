#include "p2p/envelope.hpp"

#include "base/varint.hpp"
#include "crypto/peer_id.hpp"
#include "identify.pb.h"

#include <algorithm>
#include <string>

namespace stargate::p2p {
namespace {

// What the envelope signature covers: each field uvarint-length-prefixed (RFC 0002).
Bytes signing_input(std::string_view domain, BytesView type, BytesView payload) {
  Bytes out;
  append_uvarint(out, domain.size());
  append(out, as_bytes(domain));
  append_uvarint(out, type.size());
  append(out, type);
  append_uvarint(out, payload.size());
  append(out, payload);
  return out;
}

}  // namespace

Bytes seal_envelope(std::string_view domain, BytesView payload_type, BytesView payload,
                    const crypto::Ed25519PrivateKey& key) {
  pb::identify::Envelope envelope;
  auto public_key = crypto::encode_public_key_proto(key.public_key());
  envelope.set_public_key(public_key.data(), public_key.size());
  envelope.set_payload_type(payload_type.data(), payload_type.size());
  envelope.set_payload(payload.data(), payload.size());
  auto signature = key.sign(signing_input(domain, payload_type, payload));
  envelope.set_signature(signature.data(), signature.size());
  Bytes out(envelope.ByteSizeLong());
  envelope.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<OpenedEnvelope> open_envelope(BytesView envelope_bytes, std::string_view domain, BytesView payload_type,
                                     std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  pb::identify::Envelope envelope;
  if (!envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size())))
    return make_error(prefix + "envelope is not valid protobuf");
  const BytesView type = as_bytes(envelope.payload_type());
  if (!std::ranges::equal(type, payload_type)) return make_error(prefix + "envelope has another payload type");
  auto key = crypto::decode_public_key_proto(as_bytes(envelope.public_key()));
  if (!key) return make_error(prefix + key.error().message);
  const BytesView payload = as_bytes(envelope.payload());
  if (!key->verify(signing_input(domain, payload_type, payload), as_bytes(envelope.signature())))
    return make_error(prefix + "bad signature");
  return OpenedEnvelope{*key, Bytes(payload.begin(), payload.end())};
}

}  // namespace stargate::p2p
