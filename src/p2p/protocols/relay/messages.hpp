#pragma once
// Circuit Relay v2 messages (libp2p/specs relay/circuit-v2.md): HopMessage (client <-> relay, on
// /libp2p/circuit/relay/0.2.0/hop) and StopMessage (relay <-> target, on .../stop), as plain
// structs with an encoder and a validating decoder. Sans-IO: no streams here, only bytes.
//
// On the wire each message is a uvarint length prefix followed by the protobuf body; frame() and
// take_frame() handle the prefix, encode()/decode_*() the body. Decoding is strict about what
// the relay must trust (sizes, counts, PeerIds, the fields each message type needs) and lenient
// about what it only passes on: an address a peer sends that does not parse as a multiaddr we
// know (e.g. a transport we do not implement) is dropped, as go-libp2p drops it, not fatal.
#include "base/bytes.hpp"
#include "base/multiaddr.hpp"
#include "base/result.hpp"
#include "crypto/peer_id.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace stargate::p2p::relay {

inline constexpr std::string_view kHopProtocol = "/libp2p/circuit/relay/0.2.0/hop";
inline constexpr std::string_view kStopProtocol = "/libp2p/circuit/relay/0.2.0/stop";

// Bounds on what a peer may send: a whole message body (go-libp2p and rust-libp2p use 4 KiB), and
// the addresses in one Peer or Reservation.
inline constexpr std::size_t kMaxMessageSize = 4096;
inline constexpr std::size_t kMaxAddrs = 32;

// Status codes, as numbered by the spec.
enum class Status : std::uint32_t {
  ok = 100,
  reservation_refused = 200,
  resource_limit_exceeded = 201,
  permission_denied = 202,
  connection_failed = 203,
  no_reservation = 204,
  malformed_message = 400,
  unexpected_message = 401,
};
// "OK", "RESERVATION_REFUSED", ... as the spec spells them; "UNKNOWN" for anything else.
std::string_view to_string(Status status);
// The Status a wire value names, or nullopt if the spec defines no such code.
std::optional<Status> status_from_wire(std::uint32_t value);

struct PeerInfo {
  crypto::PeerId id;
  std::vector<Multiaddr> addrs;
  friend bool operator==(const PeerInfo&, const PeerInfo&) = default;
};

struct Reservation {
  std::uint64_t expire = 0;  // Unix time, seconds (UTC)
  std::vector<Multiaddr> addrs;  // the relay's addresses, with its /p2p component
  Bytes voucher;  // a sealed voucher envelope (voucher.hpp); empty when absent
  friend bool operator==(const Reservation&, const Reservation&) = default;
};

// Limits the relay puts on a circuit. An absent field means no limit of that kind.
struct Limit {
  std::optional<std::uint32_t> duration_s;
  std::optional<std::uint64_t> data_bytes;  // in each direction
  friend bool operator==(const Limit&, const Limit&) = default;
};

struct HopMessage {
  enum class Type { reserve = 0, connect = 1, status = 2 };
  Type type = Type::reserve;
  std::optional<PeerInfo> peer;  // required by connect
  std::optional<Reservation> reservation;
  std::optional<Limit> limit;
  std::optional<Status> status;  // required by status
  friend bool operator==(const HopMessage&, const HopMessage&) = default;
};

struct StopMessage {
  enum class Type { connect = 0, status = 1 };
  Type type = Type::connect;
  std::optional<PeerInfo> peer;  // required by connect
  std::optional<Limit> limit;
  std::optional<Status> status;  // required by status
  friend bool operator==(const StopMessage&, const StopMessage&) = default;
};

// Shorthands for the messages each side sends.
HopMessage hop_reserve();
HopMessage hop_connect(PeerInfo target);
HopMessage hop_status(Status status);
StopMessage stop_connect(PeerInfo source, std::optional<Limit> limit);
StopMessage stop_status(Status status);

// Protobuf bodies (no length prefix).
Bytes encode(const HopMessage& msg);
Bytes encode(const StopMessage& msg);

// Decoders for bodies from a peer. Errors (every one of them is answered with
// MALFORMED_MESSAGE) say what was wrong: too large, not protobuf, no or an unknown type, a
// required field missing, a PeerId that does not parse, too many addresses, a status code the
// spec does not define.
Result<HopMessage> decode_hop(BytesView body);
Result<StopMessage> decode_stop(BytesView body);

// `body` with its uvarint length prefix.
Bytes frame(BytesView body);

struct Frame {
  BytesView body;  // a view into the input
  std::size_t consumed;  // prefix + body
};
// The first length-prefixed frame in `buffer`: ok(nullopt) while more bytes are needed; an error
// for a bad prefix or a length above kMaxMessageSize (known from the prefix alone, so a peer
// cannot make us buffer more than that).
Result<std::optional<Frame>> take_frame(BytesView buffer);

}  // namespace stargate::p2p::relay
