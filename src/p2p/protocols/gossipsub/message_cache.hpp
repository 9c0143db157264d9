#pragma once
// The message cache (mcache, gossipsub-v1.0.md): the messages of the last `history_length`
// heartbeats, so IWANT requests can be served; IHAVE gossip advertises only the newest
// `gossip_windows` of them. Each heartbeat shifts the windows and forgets the oldest. A message
// is served to one peer at most `max_transmissions` times (gossipsub v1.1 gossip retransmission),
// so a peer cannot make us resend it endlessly.
#include "crypto/peer_id.hpp"
#include "p2p/protocols/gossipsub/message_id.hpp"

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace stargate::p2p::gossipsub {

class MessageCache {
 public:
  MessageCache(std::size_t history_length, std::size_t gossip_windows, std::size_t max_transmissions = 3);

  void put(const MessageId& id, Message message);
  bool contains(const MessageId& id) const { return messages_.count(id) != 0; }
  // The message for an IWANT from `peer`, counting the transmission; nullptr when it is not
  // cached or `peer` already had it max_transmissions times.
  const Message* serve(const MessageId& id, const crypto::PeerId& peer);
  // IDs in `topic` from the gossip windows, newest window first.
  std::vector<MessageId> gossip_ids(const std::string& topic) const;
  // Topics with messages in the gossip windows.
  std::vector<std::string> gossip_topics() const;
  void shift();
  std::size_t size() const { return messages_.size(); }

 private:
  struct Entry {
    Message message;
    std::unordered_map<crypto::PeerId, std::size_t> transmissions;
  };
  std::size_t gossip_windows_;
  std::size_t max_transmissions_;
  std::unordered_map<MessageId, Entry> messages_;
  std::deque<std::vector<MessageId>> windows_;  // newest first
};

}  // namespace stargate::p2p::gossipsub
