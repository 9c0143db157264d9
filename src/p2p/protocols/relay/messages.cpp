#include "p2p/protocols/relay/messages.hpp"

#include "base/varint.hpp"
#include "circuit.pb.h"

#include <string>
#include <utility>

namespace stargate::p2p::relay {
namespace {

template <class Message>
Bytes serialize(const Message& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

void put_peer(pb::circuit::Peer& out, const PeerInfo& peer) {
  out.set_id(peer.id.bytes().data(), peer.id.bytes().size());
  for (const auto& addr : peer.addrs) out.add_addrs(addr.bytes().data(), addr.bytes().size());
}

void put_limit(pb::circuit::Limit& out, const Limit& limit) {
  if (limit.duration_s) out.set_duration(*limit.duration_s);
  if (limit.data_bytes) out.set_data(*limit.data_bytes);
}

pb::circuit::Status wire_status(Status status) { return static_cast<pb::circuit::Status>(status); }

template <class Repeated>
Result<std::vector<Multiaddr>> get_addrs(const Repeated& addrs, std::string_view where) {
  if (static_cast<std::size_t>(addrs.size()) > kMaxAddrs)
    return make_error("relay message: " + std::string(where) + " has " + std::to_string(addrs.size()) +
                      " addresses (at most " + std::to_string(kMaxAddrs) + ")");
  std::vector<Multiaddr> out;
  out.reserve(static_cast<std::size_t>(addrs.size()));
  for (const auto& bytes : addrs) {
    // Unknown or bad addresses are dropped, not fatal: see the header.
    if (auto addr = Multiaddr::from_bytes(as_bytes(bytes))) out.push_back(std::move(*addr));
  }
  return out;
}

Result<PeerInfo> get_peer(const pb::circuit::Peer& peer) {
  if (!peer.has_id()) return make_error("relay message: peer has no id");
  auto id = crypto::PeerId::from_bytes(as_bytes(peer.id()));
  if (!id) return make_error("relay message: peer id: " + id.error().message);
  auto addrs = get_addrs(peer.addrs(), "peer");
  if (!addrs) return addrs.error();
  return PeerInfo{std::move(*id), std::move(*addrs)};
}

Limit get_limit(const pb::circuit::Limit& limit) {
  Limit out;
  if (limit.has_duration()) out.duration_s = limit.duration();
  if (limit.has_data()) out.data_bytes = limit.data();
  return out;
}

Result<Status> get_status(int value) {
  auto status = status_from_wire(static_cast<std::uint32_t>(value));
  if (!status) return make_error("relay message: unknown status " + std::to_string(value));
  return *status;
}

template <class Message>
Result<Message> parse(BytesView body) {
  if (body.size() > kMaxMessageSize)
    return make_error("relay message: " + std::to_string(body.size()) + " bytes (at most " +
                      std::to_string(kMaxMessageSize) + ")");
  Message msg;
  if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return make_error("relay message: not valid protobuf");
  // proto2 enums are closed: an unknown type or status value lands in the unknown fields and
  // has_type()/has_status() say false, so such messages fail the checks below.
  if (!msg.has_type()) return make_error("relay message: no type, or an unknown one");
  return msg;
}

}  // namespace

std::string_view to_string(Status status) {
  switch (status) {
    case Status::ok: return "OK";
    case Status::reservation_refused: return "RESERVATION_REFUSED";
    case Status::resource_limit_exceeded: return "RESOURCE_LIMIT_EXCEEDED";
    case Status::permission_denied: return "PERMISSION_DENIED";
    case Status::connection_failed: return "CONNECTION_FAILED";
    case Status::no_reservation: return "NO_RESERVATION";
    case Status::malformed_message: return "MALFORMED_MESSAGE";
    case Status::unexpected_message: return "UNEXPECTED_MESSAGE";
  }
  return "UNKNOWN";
}

std::optional<Status> status_from_wire(std::uint32_t value) {
  switch (value) {
    case 100: case 200: case 201: case 202: case 203: case 204: case 400: case 401:
      return static_cast<Status>(value);
    default: return std::nullopt;
  }
}

HopMessage hop_reserve() { return HopMessage{HopMessage::Type::reserve, {}, {}, {}, {}}; }
HopMessage hop_connect(PeerInfo target) {
  return HopMessage{HopMessage::Type::connect, std::move(target), {}, {}, {}};
}
HopMessage hop_status(Status status) { return HopMessage{HopMessage::Type::status, {}, {}, {}, status}; }
StopMessage stop_connect(PeerInfo source, std::optional<Limit> limit) {
  return StopMessage{StopMessage::Type::connect, std::move(source), std::move(limit), {}};
}
StopMessage stop_status(Status status) { return StopMessage{StopMessage::Type::status, {}, {}, status}; }

Bytes encode(const HopMessage& msg) {
  pb::circuit::HopMessage out;
  out.set_type(static_cast<pb::circuit::HopMessage::Type>(msg.type));
  if (msg.peer) put_peer(*out.mutable_peer(), *msg.peer);
  if (msg.reservation) {
    auto& r = *out.mutable_reservation();
    r.set_expire(msg.reservation->expire);
    for (const auto& addr : msg.reservation->addrs) r.add_addrs(addr.bytes().data(), addr.bytes().size());
    if (!msg.reservation->voucher.empty())
      r.set_voucher(msg.reservation->voucher.data(), msg.reservation->voucher.size());
  }
  if (msg.limit) put_limit(*out.mutable_limit(), *msg.limit);
  if (msg.status) out.set_status(wire_status(*msg.status));
  return serialize(out);
}

Bytes encode(const StopMessage& msg) {
  pb::circuit::StopMessage out;
  out.set_type(static_cast<pb::circuit::StopMessage::Type>(msg.type));
  if (msg.peer) put_peer(*out.mutable_peer(), *msg.peer);
  if (msg.limit) put_limit(*out.mutable_limit(), *msg.limit);
  if (msg.status) out.set_status(wire_status(*msg.status));
  return serialize(out);
}

Result<HopMessage> decode_hop(BytesView body) {
  auto parsed = parse<pb::circuit::HopMessage>(body);
  if (!parsed) return parsed.error();
  const auto& in = *parsed;
  HopMessage msg;
  msg.type = static_cast<HopMessage::Type>(in.type());
  if (in.has_peer()) {
    auto peer = get_peer(in.peer());
    if (!peer) return peer.error();
    msg.peer = std::move(*peer);
  }
  if (in.has_reservation()) {
    const auto& r = in.reservation();
    if (!r.has_expire()) return make_error("relay message: reservation has no expiry");
    auto addrs = get_addrs(r.addrs(), "reservation");
    if (!addrs) return addrs.error();
    msg.reservation = Reservation{r.expire(), std::move(*addrs), Bytes(r.voucher().begin(), r.voucher().end())};
  }
  if (in.has_limit()) msg.limit = get_limit(in.limit());
  if (in.has_status()) {
    auto status = get_status(in.status());
    if (!status) return status.error();
    msg.status = *status;
  }
  if (msg.type == HopMessage::Type::connect && !msg.peer) return make_error("relay message: CONNECT without a peer");
  if (msg.type == HopMessage::Type::status && !msg.status) return make_error("relay message: STATUS without a status");
  return msg;
}

Result<StopMessage> decode_stop(BytesView body) {
  auto parsed = parse<pb::circuit::StopMessage>(body);
  if (!parsed) return parsed.error();
  const auto& in = *parsed;
  StopMessage msg;
  msg.type = static_cast<StopMessage::Type>(in.type());
  if (in.has_peer()) {
    auto peer = get_peer(in.peer());
    if (!peer) return peer.error();
    msg.peer = std::move(*peer);
  }
  if (in.has_limit()) msg.limit = get_limit(in.limit());
  if (in.has_status()) {
    auto status = get_status(in.status());
    if (!status) return status.error();
    msg.status = *status;
  }
  if (msg.type == StopMessage::Type::connect && !msg.peer) return make_error("relay message: CONNECT without a peer");
  if (msg.type == StopMessage::Type::status && !msg.status) return make_error("relay message: STATUS without a status");
  return msg;
}

Bytes frame(BytesView body) {
  Bytes out;
  out.reserve(uvarint_size(body.size()) + body.size());
  append_uvarint(out, body.size());
  append(out, body);
  return out;
}

Result<std::optional<Frame>> take_frame(BytesView buffer) {
  auto prefix = decode_uvarint(buffer);
  if (!prefix) return make_error("relay message: bad length prefix: " + prefix.error().message);
  if (!*prefix) return std::optional<Frame>{};
  const auto [length, used] = **prefix;
  if (length > kMaxMessageSize)
    return make_error("relay message: length prefix says " + std::to_string(length) + " bytes (at most " +
                      std::to_string(kMaxMessageSize) + ")");
  if (buffer.size() - used < length) return std::optional<Frame>{};
  return std::optional<Frame>{Frame{buffer.subspan(used, static_cast<std::size_t>(length)), used + static_cast<std::size_t>(length)}};
}

}  // namespace stargate::p2p::relay
