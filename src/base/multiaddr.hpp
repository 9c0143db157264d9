#pragma once
// Multiaddr: self-describing network addresses, "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW…" in text and
// <varint code><value>… in binary. Both forms are parsed strictly and bounded, since they arrive
// from peers (identify, relay, DCUtR, kad). Supported protocols: multiaddr_protocol.hpp.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/multiaddr_protocol.hpp"
#include "base/result.hpp"

namespace stargate {

inline constexpr std::size_t kMaxMultiaddrBytes = 1024;
inline constexpr std::size_t kMaxMultiaddrComponents = 32;
// Above the longest text any multiaddr within kMaxMultiaddrBytes can print as, so whatever parses
// from binary also parses back from its text.
inline constexpr std::size_t kMaxMultiaddrText = 8192;

struct MultiaddrComponent {
  Protocol protocol;
  Bytes value;  // binary value (no length prefix), empty when the protocol has none
  friend bool operator==(const MultiaddrComponent&, const MultiaddrComponent&) = default;
};

class Multiaddr {
 public:
  Multiaddr() = default;  // the empty address; parse() and from_bytes() never return it

  // Text form. Accepts "ipfs" for "p2p" and one trailing '/'. Errors read like
  // `multiaddr "/ip4/1.2.3/tcp/1": invalid ip4 address "1.2.3"`.
  static Result<Multiaddr> parse(std::string_view text);
  // Binary form. Errors name the protocol and the offset, e.g. `multiaddr bytes: truncated tcp
  // value (need 2 bytes, have 1) at offset 6`.
  static Result<Multiaddr> from_bytes(BytesView binary);
  // A one-component address from a binary value, validated as from_bytes() would.
  static Result<Multiaddr> from_component(Protocol protocol, BytesView value);

  // Canonical text: p2p values in base58btc, certhash in multibase base64url. "" when empty.
  std::string to_string() const;
  const Bytes& bytes() const { return bytes_; }
  const std::vector<MultiaddrComponent>& components() const { return components_; }
  bool empty() const { return components_.empty(); }

  // `this` followed by `other`. Not re-checked against the size limits: an address built this
  // way can be larger than one from_bytes() accepts.
  Multiaddr encapsulate(const Multiaddr& other) const;

  // The multihash of a trailing /p2p component: the peer this address reaches. A /p2p that is
  // not last (a relay's, before /p2p-circuit) is not the destination, so it is not returned.
  std::optional<Bytes> peer_id_bytes() const;
  // Strips a trailing /p2p/<id>; returns a copy when there is none.
  Multiaddr without_peer_id() const;
  bool is_circuit() const;

  friend bool operator==(const Multiaddr&, const Multiaddr&) = default;

 private:
  Bytes bytes_;
  std::vector<MultiaddrComponent> components_;
};

}  // namespace stargate
