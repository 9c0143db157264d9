#include "p2p/protocols/gossipsub/signing.hpp"

#include <string>

namespace stargate::p2p::gossipsub {
namespace {

constexpr std::string_view kSignaturePrefix = "libp2p-pubsub:";

Bytes signed_payload(const Message& message) {
  Bytes payload = to_bytes(kSignaturePrefix);
  append(payload, encode_for_signing(message));
  return payload;
}

}  // namespace

std::string_view to_string(Rejection rejection) {
  switch (rejection) {
    case Rejection::missing_signature: return "missing signature";
    case Rejection::bad_seqno: return "bad seqno";
    case Rejection::bad_author: return "bad author";
    case Rejection::bad_signature: return "bad signature";
  }
  return "unknown";
}

Message make_signed_message(const crypto::Ed25519PrivateKey& key, const crypto::PeerId& author, std::string topic,
                            Bytes data, std::uint64_t seqno) {
  Message message;
  message.from = author.bytes();
  message.data = std::move(data);
  message.seqno.resize(kSeqnoSize);
  for (std::size_t i = 0; i < kSeqnoSize; ++i)
    message.seqno[i] = static_cast<std::uint8_t>(seqno >> (8 * (kSeqnoSize - 1 - i)));
  message.topic = std::move(topic);
  const auto signature = key.sign(signed_payload(message));
  message.signature.assign(signature.begin(), signature.end());
  // An Ed25519 PeerId inlines its key (identity multihash), so `key` stays empty, as in go and js.
  return message;
}

std::optional<Rejection> check_signature(const Message& message) {
  if (message.signature.empty() || message.from.empty() || message.seqno.empty()) return Rejection::missing_signature;
  if (message.seqno.size() != kSeqnoSize) return Rejection::bad_seqno;
  auto author = crypto::PeerId::from_bytes(message.from);
  if (!author) return Rejection::bad_author;
  auto inlined = author->public_key();
  Result<crypto::Ed25519PublicKey> key = make_error("no key");
  if (!message.key.empty()) {
    key = crypto::decode_public_key_proto(message.key);
    if (!key || !author->matches(*key)) return Rejection::bad_author;
  } else if (inlined) {
    key = *inlined;
  } else {
    return Rejection::bad_author;
  }
  if (!key->verify(signed_payload(message), message.signature)) return Rejection::bad_signature;
  return std::nullopt;
}

}  // namespace stargate::p2p::gossipsub
