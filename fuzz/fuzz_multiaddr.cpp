// Feeds the input to Multiaddr::from_bytes and to Multiaddr::parse. Whatever either accepts must
// print as text that parses back to the same bytes and components, print the same text again
// (the canonical form is a fixed point), and survive the helpers. A mismatch traps.
#include <cstddef>
#include <cstdint>

#include "base/multiaddr.hpp"

namespace {

using stargate::Bytes;
using stargate::BytesView;
using stargate::Multiaddr;
using stargate::Protocol;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_round_trip(const Multiaddr& m) {
  require(!m.empty());
  const std::string text = m.to_string();
  auto reparsed = Multiaddr::parse(text);
  require(reparsed.has_value());
  require(reparsed->bytes() == m.bytes());
  require(reparsed->components() == m.components());
  require(reparsed->to_string() == text);

  auto from_binary = Multiaddr::from_bytes(m.bytes());
  require(from_binary.has_value() && *from_binary == m);

  // Stripping the trailing /p2p and putting it back gives the address back.
  if (auto peer = m.peer_id_bytes()) {
    auto p2p = Multiaddr::from_component(Protocol::p2p, *peer);
    require(p2p.has_value());
    require(m.without_peer_id().encapsulate(*p2p) == m);
  } else {
    require(m.without_peer_id() == m);
  }
  (void)m.is_circuit();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const BytesView input(data, size);
  if (auto m = Multiaddr::from_bytes(input)) {
    require(m->bytes() == Bytes(input.begin(), input.end()));
    check_round_trip(*m);
  }
  if (auto m = Multiaddr::parse(stargate::as_string(input))) check_round_trip(*m);
  return 0;
}
