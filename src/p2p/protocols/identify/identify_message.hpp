#pragma once
// identify (/ipfs/id/1.0.0, /ipfs/id/push/1.0.0): the message and its checks, without I/O.
#include "base/bytes.hpp"
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"

#include <optional>
#include <string>
#include <vector>

namespace stargate::p2p::identify {

inline constexpr const char* protocol_id = "/ipfs/id/1.0.0";
inline constexpr const char* push_protocol_id = "/ipfs/id/push/1.0.0";
// js-libp2p refuses identify messages over 8 KiB by default; we accept up to 64 KiB from peers.
inline constexpr std::size_t max_message_size = 64 * 1024;

struct IdentifyInfo {
  std::string protocol_version;
  std::string agent_version;
  std::optional<crypto::Ed25519PublicKey> public_key;
  std::vector<Multiaddr> listen_addrs;
  std::optional<Multiaddr> observed_addr;
  std::vector<std::string> protocols;
  // A serialized signed envelope carrying a PeerRecord (verified separately).
  Bytes signed_peer_record;
};

Bytes encode(const IdentifyInfo& info);
// Unparseable addresses are skipped (peers advertise transports we do not know); a public key
// that is not Ed25519 leaves `public_key` empty; malformed protobuf is an error.
Result<IdentifyInfo> decode(BytesView message);

}  // namespace stargate::p2p::identify
