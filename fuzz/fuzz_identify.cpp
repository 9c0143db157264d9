// libFuzzer target: identify messages (/ipfs/id/1.0.0) and the signed peer records they carry (RFC
// 0002 envelopes, RFC 0003 records) fed hostile bytes. Whatever decodes must respect the message
// bound and encode and decode back to the same message; its signed peer record, and the input read
// as an envelope, may open only when signed by the seed corpus's key (hostile keys and signatures
// must never crash the check); the addresses decoded, sealed into a record by that key, must open
// back to the same record.
#include <cstddef>
#include <cstdint>

#include "p2p/envelope.hpp"
#include "p2p/protocols/identify/identify_message.hpp"
#include "p2p/protocols/identify/peer_record.hpp"
#include "check.hpp"

using namespace stargate;
using namespace stargate::p2p;
using namespace stargate::p2p::identify;

namespace {

// The key that signed the genuine peer records of the seed corpus (seed 32 x 0x09).
const crypto::Ed25519PrivateKey& seed_key() {
  static const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::from_seed(Bytes(32, 0x09)).value();
  return key;
}

const crypto::PeerId& seed_peer() {
  static const crypto::PeerId id = crypto::PeerId::from_public_key(seed_key().public_key());
  return id;
}

bool same(const IdentifyInfo& a, const IdentifyInfo& b) {
  return a.protocol_version == b.protocol_version && a.agent_version == b.agent_version &&
         a.public_key == b.public_key && a.listen_addrs == b.listen_addrs && a.observed_addr == b.observed_addr &&
         a.protocols == b.protocols && a.signed_peer_record == b.signed_peer_record;
}

void check_addr(const Multiaddr& addr) { check(!addr.empty() && addr.bytes().size() <= kMaxMultiaddrBytes); }

// An envelope from the wire: only the seed key's records may open.
void envelope(BytesView bytes) {
  const Bytes type{0x03, 0x01};
  if (auto opened = open_envelope(bytes, "libp2p-peer-record", type, "signed peer record"))
    check(opened->signer == seed_key().public_key());
  auto record = open_peer_record(bytes);
  if (!record) {
    check(!record.error().message.empty());
    return;
  }
  check(record->peer_id == seed_peer());
  for (const auto& addr : record->addrs) check_addr(addr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const BytesView input(data, size);
  envelope(input);

  auto info = decode(input);
  if (!info) return 0;
  check(size <= max_message_size);
  for (const auto& addr : info->listen_addrs) check_addr(addr);
  if (info->observed_addr) check_addr(*info->observed_addr);
  auto again = decode(encode(*info));
  check(again && same(*again, *info));

  if (!info->signed_peer_record.empty()) envelope(info->signed_peer_record);

  // A record of what was decoded, sealed by our key, opens to the same record.
  const PeerRecord record{seed_peer(), size, info->listen_addrs};
  auto opened = open_peer_record(seal_peer_record(record, seed_key()));
  check(opened && opened->peer_id == record.peer_id && opened->seq == record.seq && opened->addrs == record.addrs);
  return 0;
}
