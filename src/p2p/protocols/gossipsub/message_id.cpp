#include "p2p/protocols/gossipsub/message_id.hpp"

namespace stargate::p2p::gossipsub {

MessageId message_id(const Message& message) {
  MessageId id;
  id.reserve(message.from.size() + message.seqno.size());
  id.append(as_string(message.from));
  id.append(as_string(message.seqno));
  return id;
}

}  // namespace stargate::p2p::gossipsub
