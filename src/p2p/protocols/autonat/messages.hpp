#pragma once
// AutoNAT v1 messages (libp2p/specs autonat/autonat-v1.md, /libp2p/autonat/1.0.0): DIAL (a peer
// asks to be dialed back at some addresses) and DIAL_RESPONSE (the outcome), as plain structs with
// an encoder and a validating decoder. Sans-IO: bodies only; on the wire each body follows a
// uvarint length prefix (p2p/host/length_prefixed.hpp), bounded by kMaxMessageSize.
//
// Decoding is strict about what the server must trust (size, address count, the PeerId, the
// fields each type needs) and lenient about addresses it cannot parse (dropped, as go-libp2p does).
#include "base/bytes.hpp"
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::p2p::autonat {

inline constexpr std::string_view kProtocol = "/libp2p/autonat/1.0.0";

// A whole message body (go-libp2p reads at most 4 KiB), the addresses in one DIAL, and the
// status text we keep from a response.
inline constexpr std::size_t kMaxMessageSize = 4096;
inline constexpr std::size_t kMaxAddrs = 32;
inline constexpr std::size_t kMaxStatusText = 256;

// ResponseStatus, as numbered by the spec.
enum class Status : std::uint32_t {
  ok = 0,
  dial_error = 100,
  dial_refused = 101,
  bad_request = 200,
  internal_error = 300,
};
// "OK", "E_DIAL_ERROR", ... as the spec spells them; "UNKNOWN" otherwise.
std::string_view to_string(Status status);
std::optional<Status> status_from_wire(std::uint32_t value);

struct DialRequest {
  std::optional<crypto::PeerId> peer;  // who asks (the spec makes it optional)
  std::vector<Multiaddr> addrs;        // where to dial back
  friend bool operator==(const DialRequest&, const DialRequest&) = default;
};

struct DialResponse {
  Status status = Status::internal_error;
  std::string status_text;     // at most kMaxStatusText bytes
  std::optional<Multiaddr> addr;  // the address that worked (OK only)
  friend bool operator==(const DialResponse&, const DialResponse&) = default;
};

// Bodies, no length prefix. A status text longer than kMaxStatusText is cut.
Bytes encode(const DialRequest& request);
Bytes encode(const DialResponse& response);

// Errors say what was wrong: too large, not protobuf, not the expected type, no peer info, a
// PeerId that does not parse, more than kMaxAddrs addresses, no or an unknown status.
Result<DialRequest> decode_dial(BytesView body);
Result<DialResponse> decode_dial_response(BytesView body);

}  // namespace stargate::p2p::autonat
