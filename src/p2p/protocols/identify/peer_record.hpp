#pragma once
// Signed peer records (libp2p RFC 0002 signed envelopes + RFC 0003 routing records): a peer's
// own signed list of its addresses, so that third parties can pass them on without being trusted.
#include "base/bytes.hpp"
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/peer_id.hpp"

#include <cstdint>
#include <vector>

namespace stargate::p2p::identify {

struct PeerRecord {
  crypto::PeerId peer_id;
  std::uint64_t seq = 0;
  std::vector<Multiaddr> addrs;
};

// A serialized Envelope (domain "libp2p-peer-record", payload type 0x0301) signed by `key`.
Bytes seal_peer_record(const PeerRecord& record, const crypto::Ed25519PrivateKey& key);
// Checks the envelope's signature and that the record's peer ID is the signer's.
Result<PeerRecord> open_peer_record(BytesView envelope);

}  // namespace stargate::p2p::identify
