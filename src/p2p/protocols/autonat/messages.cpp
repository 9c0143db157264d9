#include "p2p/protocols/autonat/messages.hpp"

#include "autonat.pb.h"

#include <string>
#include <utility>

namespace stargate::p2p::autonat {
namespace {

using pb::autonat::Message;

Bytes serialize(const Message& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<Message> parse(BytesView body, Message::MessageType expected) {
  if (body.size() > kMaxMessageSize)
    return make_error("autonat message: " + std::to_string(body.size()) + " bytes (at most " +
                      std::to_string(kMaxMessageSize) + ")");
  Message msg;
  if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return make_error("autonat message: not valid protobuf");
  // proto2 enums are closed: an unknown type lands in the unknown fields and has_type() is false.
  if (!msg.has_type() || msg.type() != expected)
    return make_error(std::string("autonat message: expected ") + (expected == Message::DIAL ? "DIAL" : "DIAL_RESPONSE"));
  return msg;
}

}  // namespace

std::string_view to_string(Status status) {
  switch (status) {
    case Status::ok: return "OK";
    case Status::dial_error: return "E_DIAL_ERROR";
    case Status::dial_refused: return "E_DIAL_REFUSED";
    case Status::bad_request: return "E_BAD_REQUEST";
    case Status::internal_error: return "E_INTERNAL_ERROR";
  }
  return "UNKNOWN";
}

std::optional<Status> status_from_wire(std::uint32_t value) {
  switch (value) {
    case 0: case 100: case 101: case 200: case 300: return static_cast<Status>(value);
    default: return std::nullopt;
  }
}

Bytes encode(const DialRequest& request) {
  Message msg;
  msg.set_type(Message::DIAL);
  auto& peer = *msg.mutable_dial()->mutable_peer();
  if (request.peer) peer.set_id(request.peer->bytes().data(), request.peer->bytes().size());
  for (const auto& addr : request.addrs) peer.add_addrs(addr.bytes().data(), addr.bytes().size());
  return serialize(msg);
}

Bytes encode(const DialResponse& response) {
  Message msg;
  msg.set_type(Message::DIAL_RESPONSE);
  auto& out = *msg.mutable_dialresponse();
  out.set_status(static_cast<Message::ResponseStatus>(response.status));
  if (!response.status_text.empty())
    out.set_statustext(response.status_text.substr(0, kMaxStatusText));
  if (response.addr) out.set_addr(response.addr->bytes().data(), response.addr->bytes().size());
  return serialize(msg);
}

Result<DialRequest> decode_dial(BytesView body) {
  auto msg = parse(body, Message::DIAL);
  if (!msg) return msg.error();
  if (!msg->has_dial() || !msg->dial().has_peer()) return make_error("autonat DIAL: no peer info");
  const auto& peer = msg->dial().peer();
  DialRequest out;
  if (peer.has_id()) {
    auto id = crypto::PeerId::from_bytes(as_bytes(peer.id()));
    if (!id) return make_error("autonat DIAL: peer id: " + id.error().message);
    out.peer = std::move(*id);
  }
  if (static_cast<std::size_t>(peer.addrs_size()) > kMaxAddrs)
    return make_error("autonat DIAL: " + std::to_string(peer.addrs_size()) + " addresses (at most " +
                      std::to_string(kMaxAddrs) + ")");
  for (const auto& bytes : peer.addrs()) {
    // Addresses we cannot parse are dropped, not fatal (see the header).
    if (auto addr = Multiaddr::from_bytes(as_bytes(bytes))) out.addrs.push_back(std::move(*addr));
  }
  return out;
}

Result<DialResponse> decode_dial_response(BytesView body) {
  auto msg = parse(body, Message::DIAL_RESPONSE);
  if (!msg) return msg.error();
  if (!msg->has_dialresponse() || !msg->dialresponse().has_status())
    return make_error("autonat DIAL_RESPONSE: no status, or an unknown one");
  const auto& in = msg->dialresponse();
  DialResponse out;
  out.status = static_cast<Status>(in.status());
  if (in.statustext().size() > kMaxStatusText)
    return make_error("autonat DIAL_RESPONSE: status text of " + std::to_string(in.statustext().size()) + " bytes");
  out.status_text = in.statustext();
  if (in.has_addr()) {
    auto addr = Multiaddr::from_bytes(as_bytes(in.addr()));
    if (!addr) return make_error("autonat DIAL_RESPONSE: addr: " + addr.error().message);
    out.addr = std::move(*addr);
  }
  return out;
}

}  // namespace stargate::p2p::autonat
