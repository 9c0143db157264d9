#pragma once
// Kademlia DHT messages (proto/kad.proto), decoded into checked structs. Hostile input is
// bounded: the message size, the key size, the number of peers per list and addresses per peer;
// a peer entry whose ID or address does not parse is skipped, not trusted.
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

#include <optional>
#include <vector>

namespace stargate::p2p::kad {

inline constexpr std::size_t kMaxMessageSize = 256 * 1024;
inline constexpr std::size_t kMaxKeySize = 1024;
inline constexpr std::size_t kMaxPeersPerList = 64;
inline constexpr std::size_t kMaxAddrsPerPeer = 16;

enum class MessageType { put_value = 0, get_value = 1, add_provider = 2, get_providers = 3, find_node = 4, ping = 5 };
std::string_view to_string(MessageType type);

struct PeerEntry {
  crypto::PeerId id;
  std::vector<Multiaddr> addrs;
  friend bool operator==(const PeerEntry&, const PeerEntry&) = default;
};

struct Record {
  Bytes key;
  Bytes value;
  friend bool operator==(const Record&, const Record&) = default;
};

struct Message {
  MessageType type = MessageType::find_node;
  Bytes key;
  std::optional<Record> record;
  std::vector<PeerEntry> closer_peers;
  std::vector<PeerEntry> provider_peers;
};

Bytes encode(const Message& message);
Result<Message> decode(BytesView body);

}  // namespace stargate::p2p::kad
