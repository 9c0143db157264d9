#include "p2p/protocols/kad/messages.hpp"

#include "kad.pb.h"

#include <string>

namespace stargate::p2p::kad {
namespace {

void put_peers(const std::vector<PeerEntry>& peers,
               google::protobuf::RepeatedPtrField<pb::kad::Message::Peer>* out) {
  for (const auto& peer : peers) {
    auto* p = out->Add();
    p->set_id(peer.id.bytes().data(), peer.id.bytes().size());
    for (const auto& addr : peer.addrs) p->add_addrs(addr.bytes().data(), addr.bytes().size());
  }
}

Result<std::vector<PeerEntry>> take_peers(const google::protobuf::RepeatedPtrField<pb::kad::Message::Peer>& in,
                                          std::string_view what) {
  if (static_cast<std::size_t>(in.size()) > kMaxPeersPerList)
    return make_error("kad message: " + std::to_string(in.size()) + " " + std::string(what) + " (at most " +
                      std::to_string(kMaxPeersPerList) + ")");
  std::vector<PeerEntry> out;
  for (const auto& p : in) {
    auto id = crypto::PeerId::from_bytes(as_bytes(p.id()));
    if (!id) continue;
    PeerEntry entry{*id, {}};
    for (const auto& raw : p.addrs()) {
      if (entry.addrs.size() >= kMaxAddrsPerPeer) break;
      if (auto addr = Multiaddr::from_bytes(as_bytes(raw))) entry.addrs.push_back(std::move(*addr));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

std::string_view to_string(MessageType type) {
  switch (type) {
    case MessageType::put_value: return "PUT_VALUE";
    case MessageType::get_value: return "GET_VALUE";
    case MessageType::add_provider: return "ADD_PROVIDER";
    case MessageType::get_providers: return "GET_PROVIDERS";
    case MessageType::find_node: return "FIND_NODE";
    case MessageType::ping: return "PING";
  }
  return "UNKNOWN";
}

Bytes encode(const Message& message) {
  pb::kad::Message msg;
  msg.set_type(static_cast<pb::kad::Message::MessageType>(message.type));
  msg.set_key(message.key.data(), message.key.size());
  if (message.record) {
    auto* record = msg.mutable_record();
    record->set_key(message.record->key.data(), message.record->key.size());
    record->set_value(message.record->value.data(), message.record->value.size());
  }
  put_peers(message.closer_peers, msg.mutable_closerpeers());
  put_peers(message.provider_peers, msg.mutable_providerpeers());
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<Message> decode(BytesView body) {
  if (body.size() > kMaxMessageSize)
    return make_error("kad message: " + std::to_string(body.size()) + " bytes (at most " +
                      std::to_string(kMaxMessageSize) + ")");
  pb::kad::Message msg;
  if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size()))) return make_error("kad message: not valid protobuf");
  if (msg.type() < pb::kad::Message::PUT_VALUE || msg.type() > pb::kad::Message::PING)
    return make_error("kad message: unknown type " + std::to_string(msg.type()));
  if (msg.key().size() > kMaxKeySize)
    return make_error("kad message: key of " + std::to_string(msg.key().size()) + " bytes (at most " +
                      std::to_string(kMaxKeySize) + ")");
  Message out;
  out.type = static_cast<MessageType>(msg.type());
  out.key = to_bytes(msg.key());
  if (msg.has_record()) {
    if (msg.record().key().size() > kMaxKeySize) return make_error("kad message: record key too large");
    out.record = Record{to_bytes(msg.record().key()), to_bytes(msg.record().value())};
  }
  auto closer = take_peers(msg.closerpeers(), "closer peers");
  if (!closer) return closer.error();
  auto providers = take_peers(msg.providerpeers(), "provider peers");
  if (!providers) return providers.error();
  out.closer_peers = std::move(*closer);
  out.provider_peers = std::move(*providers);
  return out;
}

}  // namespace stargate::p2p::kad
