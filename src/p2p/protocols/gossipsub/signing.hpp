#pragma once
// StrictSign (libp2p/specs pubsub/README.md, "Message Signing"): every message carries its author
// (`from`), an 8-byte seqno and an Ed25519 signature over "libp2p-pubsub:" + the message's
// protobuf without signature and key. Anything else is rejected, so a peer cannot forge another's
// messages or relay unsigned ones.
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"
#include "p2p/protocols/gossipsub/messages.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace stargate::p2p::gossipsub {

inline constexpr std::size_t kSeqnoSize = 8;

enum class Rejection {
  missing_signature,  // no signature, no author or no seqno
  bad_seqno,          // not 8 bytes
  bad_author,         // `from` is not a PeerId, or does not match `key`
  bad_signature,
};
std::string_view to_string(Rejection rejection);

// A message authored by `key`, signed. The seqno is written big-endian.
Message make_signed_message(const crypto::Ed25519PrivateKey& key, const crypto::PeerId& author, std::string topic,
                            Bytes data, std::uint64_t seqno);

// std::nullopt when `message` is acceptable under StrictSign.
std::optional<Rejection> check_signature(const Message& message);

}  // namespace stargate::p2p::gossipsub
