// libFuzzer target: DCUtR messages, circuit addresses and the choice of punchable addresses fed
// hostile bytes. Whatever decodes must encode and decode back to the same message and respect the
// bounds the decoder promises; punchable() must only ever return what a hole punch can dial.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/protocols/dcutr/messages.hpp"
#include "p2p/protocols/relay/circuit_address.hpp"

using namespace stargate;
using namespace stargate::p2p;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const BytesView input(data, size);
  if (auto msg = dcutr::decode(input)) {
    check(input.size() <= dcutr::kMaxMessageSize);
    check(msg->addrs.size() <= dcutr::kMaxAddrs);
    auto again = dcutr::decode(dcutr::encode(*msg));
    check(again && *again == *msg);
    auto kept = dcutr::punchable(msg->addrs);
    check(kept.size() <= dcutr::kMaxAddrs);
    for (const auto& addr : kept) {
      check(!addr.is_circuit() && !addr.peer_id_bytes());
      check(addr.components().size() == 2 && addr.components()[1].protocol == Protocol::tcp);
    }
  }
  if (auto addr = Multiaddr::from_bytes(input)) {
    if (auto circuit = relay::parse_circuit_address(*addr)) {
      check(circuit->relay_addr.peer_id_bytes().has_value());
      check(!circuit->relay_addr.is_circuit());
      if (circuit->destination) check(*circuit->destination != circuit->relay);
    }
  }
  return 0;
}
