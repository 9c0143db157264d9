#pragma once
// The pubsub RPC (libp2p/specs pubsub/README.md, gossipsub v1.0/v1.1) as plain structs, with an
// encoder and a decoder that bounds everything a peer can make us hold: the body size, the number
// of subscriptions, messages, control entries and message IDs, topic lengths and PX peers.
// Sans-IO: bodies only; on the wire each RPC follows a uvarint length prefix.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::gossipsub {

inline constexpr std::string_view kMeshsubV11 = "/meshsub/1.1.0";
inline constexpr std::string_view kMeshsubV10 = "/meshsub/1.0.0";
inline constexpr std::string_view kFloodsub = "/floodsub/1.0.0";

// What one RPC may carry. A peer that sends more is refused whole: a well-behaved router splits
// its traffic long before these (go-libp2p caps the RPC at 1 MiB and IHAVE at 5000 IDs).
struct Limits {
  std::size_t max_rpc_size = 1 << 20;
  std::size_t max_subscriptions = 1024;
  std::size_t max_messages = 1024;
  std::size_t max_control_entries = 1024;  // IHAVE + IWANT + GRAFT + PRUNE entries together
  std::size_t max_message_ids = 5000;      // over all IHAVE and IWANT entries
  std::size_t max_message_id_size = 256;
  std::size_t max_topic_size = 1024;
  std::size_t max_px_peers = 64;           // over all PRUNE entries
};

// A published message as it travels. Empty fields were absent on the wire.
struct Message {
  Bytes from;  // the author's PeerId bytes (multihash)
  Bytes data;
  Bytes seqno;
  std::string topic;
  Bytes signature;
  Bytes key;  // the author's public key (protobuf), when the PeerId does not inline it
  friend bool operator==(const Message&, const Message&) = default;
};

struct SubOpt {
  bool subscribe = true;
  std::string topic;
  friend bool operator==(const SubOpt&, const SubOpt&) = default;
};

struct IHave {
  std::string topic;
  std::vector<Bytes> ids;
  friend bool operator==(const IHave&, const IHave&) = default;
};

struct IWant {
  std::vector<Bytes> ids;
  friend bool operator==(const IWant&, const IWant&) = default;
};

struct Graft {
  std::string topic;
  friend bool operator==(const Graft&, const Graft&) = default;
};

struct Prune {
  std::string topic;
  // Peer exchange: PeerIds only (signed peer records are neither sent nor required).
  std::vector<crypto::PeerId> peers;
  std::optional<std::uint64_t> backoff_seconds;
  friend bool operator==(const Prune&, const Prune&) = default;
};

struct Rpc {
  std::vector<SubOpt> subscriptions;
  std::vector<Message> publish;
  std::vector<IHave> ihave;
  std::vector<IWant> iwant;
  std::vector<Graft> graft;
  std::vector<Prune> prune;

  bool has_control() const { return !ihave.empty() || !iwant.empty() || !graft.empty() || !prune.empty(); }
  bool empty() const { return subscriptions.empty() && publish.empty() && !has_control(); }
  // Appends everything of `other` (outbound RPCs to one peer are merged until they are sent).
  void merge(Rpc&& other);
  friend bool operator==(const Rpc&, const Rpc&) = default;
};

// The body, no length prefix.
Bytes encode(const Rpc& rpc);
// Errors name what was wrong: too large, not protobuf, or which limit was exceeded. PX entries
// whose peer ID does not parse are dropped (a hint, not something we must trust).
Result<Rpc> decode(BytesView body, const Limits& limits = {});

// The protobuf of `message` without its signature and key: what StrictSign signs after the
// "libp2p-pubsub:" prefix.
Bytes encode_for_signing(const Message& message);

}  // namespace stargate::p2p::gossipsub
