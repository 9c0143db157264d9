// libFuzzer target: gossipsub RPCs (/meshsub/1.1.0 bodies) fed hostile bytes. Whatever decodes must
// respect every bound of its Limits, under the production limits and under tight ones, and encode
// and decode back to the same RPC; every message it carries then goes through StrictSign
// verification, which must refuse it unless it is the genuine message of the seed corpus's key,
// signed exactly as that key signs it (hostile keys, IDs and signatures must never crash it).
#include <cstddef>
#include <cstdint>

#include "p2p/protocols/gossipsub/message_id.hpp"
#include "p2p/protocols/gossipsub/messages.hpp"
#include "p2p/protocols/gossipsub/signing.hpp"
#include "check.hpp"

using namespace stargate;
using namespace stargate::p2p::gossipsub;

namespace {

// The key that signed the genuine messages of the seed corpus (seed 32 x 0x07).
const crypto::Ed25519PrivateKey& seed_key() {
  static const crypto::Ed25519PrivateKey key = crypto::Ed25519PrivateKey::from_seed(Bytes(32, 0x07)).value();
  return key;
}

void check_bounds(const Rpc& rpc, std::size_t size, const Limits& limits) {
  check(size <= limits.max_rpc_size);
  check(rpc.subscriptions.size() <= limits.max_subscriptions && rpc.publish.size() <= limits.max_messages);
  check(rpc.ihave.size() + rpc.iwant.size() + rpc.graft.size() + rpc.prune.size() <= limits.max_control_entries);
  auto topic_ok = [&](const std::string& topic) { return !topic.empty() && topic.size() <= limits.max_topic_size; };
  for (const auto& s : rpc.subscriptions) check(topic_ok(s.topic));
  for (const auto& m : rpc.publish) check(topic_ok(m.topic));
  for (const auto& g : rpc.graft) check(topic_ok(g.topic));
  std::size_t ids = 0;
  auto ids_ok = [&](const std::vector<Bytes>& list) {
    ids += list.size();
    for (const auto& id : list) check(!id.empty() && id.size() <= limits.max_message_id_size);
  };
  for (const auto& e : rpc.ihave) {
    check(topic_ok(e.topic));
    ids_ok(e.ids);
  }
  for (const auto& e : rpc.iwant) ids_ok(e.ids);
  check(ids <= limits.max_message_ids);
  std::size_t px = 0;
  for (const auto& p : rpc.prune) {
    check(topic_ok(p.topic));
    px += p.peers.size();
    for (const auto& peer : p.peers) check(!peer.empty());
  }
  check(px <= limits.max_px_peers);
}

// StrictSign on a message from the wire: only the seed key's own signature may pass.
void verify(const Message& message) {
  (void)message_id(message);
  const auto rejection = check_signature(message);
  if (rejection) {
    check(!to_string(*rejection).empty());
    return;
  }
  check(message.seqno.size() == kSeqnoSize && !message.signature.empty());
  auto author = crypto::PeerId::from_bytes(message.from);
  check(author && *author == crypto::PeerId::from_public_key(seed_key().public_key()));
  // Ed25519 signatures are deterministic: the only signature that may verify is the one the key makes
  // (a second one would be a malleable signature accepted).
  Bytes payload = to_bytes("libp2p-pubsub:");
  append(payload, encode_for_signing(message));
  const auto genuine = seed_key().sign(payload);
  check(message.signature == Bytes(genuine.begin(), genuine.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const BytesView input(data, size);
  const Limits production;
  auto rpc = decode(input, production);

  // The same bytes under tight limits: every limit is then within the fuzzer's reach.
  const Limits tight{.max_rpc_size = 2048, .max_subscriptions = 2, .max_messages = 2, .max_control_entries = 3,
                     .max_message_ids = 4, .max_message_id_size = 8, .max_topic_size = 16, .max_px_peers = 2};
  if (auto small = decode(input, tight)) {
    check_bounds(*small, size, tight);
    check(rpc && *rpc == *small);  // what fits the tight limits fits the production ones
  }

  if (!rpc) return 0;
  check_bounds(*rpc, size, production);
  const Bytes encoded = encode(*rpc);
  auto again = decode(encoded, production);
  check(again && *again == *rpc);
  check(encode(*again) == encoded);  // the encoding is deterministic

  for (const auto& message : rpc->publish) verify(message);

  // Merging keeps everything, in order.
  Rpc merged = *rpc;
  Rpc copy = *rpc;
  merged.merge(std::move(copy));
  check(merged.subscriptions.size() == 2 * rpc->subscriptions.size() && merged.publish.size() == 2 * rpc->publish.size());
  check(merged.empty() == rpc->empty());
  return 0;
}
