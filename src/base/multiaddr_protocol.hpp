#pragma once
// The multiaddr protocols Stargate understands, and how each one's value is written as text and
// as bytes. Codes are from the multiformats multicodec table (tag "multiaddr").
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace stargate {

enum class Protocol : std::uint32_t {
  ip4 = 4,
  tcp = 6,
  ip6 = 41,
  ip6zone = 42,
  ipcidr = 43,
  dns = 53,
  dns4 = 54,
  dns6 = 55,
  dnsaddr = 56,
  udp = 273,
  webrtc_direct = 280,
  webrtc = 281,
  p2p_circuit = 290,
  p2p = 421,  // text name "ipfs" is accepted as an alias
  https = 443,
  tls = 448,
  sni = 449,
  noise = 454,
  quic = 460,     // 0x01cc, draft-29 QUIC
  quic_v1 = 461,  // 0x01cd, RFC 9000 QUIC
  webtransport = 465,
  certhash = 466,
  ws = 477,
  wss = 478,
  http = 480,
};

// How a protocol's value looks; the binary size follows from it.
enum class ValueFormat {
  none,     // no value
  ip4,      // 4 bytes, dotted quad
  ip6,      // 16 bytes, RFC 4291 text
  port,     // 2 bytes big-endian, decimal 0..65535
  cidr,     // 1 byte, decimal 0..255
  name,     // length-prefixed printable ASCII without '/' (DNS names, zones, SNI)
  peer_id,  // length-prefixed multihash; text base58btc (or a CIDv1 with the libp2p-key codec)
  certhash, // length-prefixed multihash; text multibase
};

struct ProtocolInfo {
  Protocol protocol;
  std::string_view name;
  ValueFormat format;
};

// nullptr when unknown.
const ProtocolInfo* find_protocol(std::uint64_t code);
const ProtocolInfo* find_protocol(std::string_view name);
// "unknown" for a value outside the table.
std::string_view protocol_name(Protocol protocol);

// Binary value size for fixed-size formats: 0 for none, nullopt for length-prefixed ones.
std::optional<std::size_t> fixed_value_size(ValueFormat format);

// Text value -> binary value (without any length prefix). The error message names the protocol
// and quotes the value, e.g. `invalid ip4 address "1.2.3"`.
Result<Bytes> value_from_text(const ProtocolInfo& info, std::string_view text);
// Checks a binary value (without its length prefix) that came off the wire; error as above.
Result<void> validate_value(const ProtocolInfo& info, BytesView value);
// Binary value -> canonical text. The value must have passed validate_value.
std::string value_to_text(const ProtocolInfo& info, BytesView value);

}  // namespace stargate
