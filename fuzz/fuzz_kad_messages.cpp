// libFuzzer target: Kademlia DHT messages fed hostile bytes. Whatever decodes must respect the
// decoder's bounds and encode and decode back to the same message; its peers then go through a
// routing table and a lookup, which must stay within their bounds; its record through the
// validators, which must refuse unknown namespaces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/protocols/kad/lookup.hpp"
#include "p2p/protocols/kad/messages.hpp"
#include "p2p/protocols/kad/records.hpp"
#include "p2p/protocols/kad/routing_table.hpp"

using namespace stargate;
using namespace stargate::p2p;
using namespace stargate::p2p::kad;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const crypto::PeerId& self() {
  // A fixed identity multihash (identity hash of a 36-byte Ed25519 public key protobuf).
  static const crypto::PeerId id = [] {
    Bytes mh{0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
    mh.resize(mh.size() + 32, 0x42);
    return crypto::PeerId::from_bytes(mh).value();
  }();
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto msg = decode(BytesView(data, size));
  if (!msg) return 0;
  check(size <= kMaxMessageSize && msg->key.size() <= kMaxKeySize);
  check(msg->closer_peers.size() <= kMaxPeersPerList && msg->provider_peers.size() <= kMaxPeersPerList);
  for (const auto& p : msg->closer_peers) check(p.addrs.size() <= kMaxAddrsPerPeer);
  auto again = decode(encode(*msg));
  check(again && again->type == msg->type && again->key == msg->key && again->record == msg->record &&
        again->closer_peers == msg->closer_peers && again->provider_peers == msg->provider_peers);

  RoutingTable table(self(), RoutingTableConfig{.bucket_size = 4, .replacement_cache = 2, .max_addrs_per_peer = 2,
                                                .check_after = std::chrono::seconds(0)});
  std::vector<Candidate> seeds;
  for (const auto& p : msg->closer_peers) {
    table.add(p.id, p.addrs, SteadyTime{});
    seeds.push_back(Candidate{p.id, p.addrs});
  }
  for (const auto& e : table.closest(key_of(msg->key), 100)) check(e.addrs.size() <= 2 && e.peer != self());
  Lookup lookup(key_of(msg->key), self(), seeds, LookupConfig{.alpha = 3, .k = 4, .max_candidates = 8});
  std::vector<Candidate> providers;
  for (const auto& p : msg->provider_peers) providers.push_back(Candidate{p.id, p.addrs});
  for (int round = 0; round < 64 && !lookup.finished(); ++round) {
    auto next = lookup.next();
    check(lookup.in_flight() <= 3);
    if (next.empty()) break;
    for (std::size_t i = 0; i < next.size(); ++i) {
      if (i % 3 == 0) lookup.on_response(next[i].peer, providers);
      else if (i % 3 == 1) lookup.on_failure(next[i].peer);
      else lookup.on_stalled(next[i].peer);
    }
  }
  // Never asks a peer twice: at most every distinct peer it was told of.
  check(lookup.requests_sent() <= msg->closer_peers.size() + msg->provider_peers.size());

  if (msg->record) {
    RecordValidators validators;
    const auto why = validators.validate(msg->record->key, msg->record->value);
    const std::string_view key(reinterpret_cast<const char*>(msg->record->key.data()), msg->record->key.size());
    if (key.rfind("/pk/", 0) != 0) check(!why.empty());
  }
  return 0;
}
