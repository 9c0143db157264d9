#pragma once
// Message IDs: the libp2p default, the author's PeerId bytes followed by the seqno. Kept as a
// std::string so it hashes and compares as a key without extra code.
#include "p2p/protocols/gossipsub/messages.hpp"

#include <string>

namespace stargate::p2p::gossipsub {

using MessageId = std::string;

MessageId message_id(const Message& message);
inline Bytes id_bytes(const MessageId& id) { return Bytes(id.begin(), id.end()); }
inline MessageId id_from_bytes(BytesView bytes) { return MessageId(as_string(bytes)); }

}  // namespace stargate::p2p::gossipsub
