#include "p2p/protocols/identify/identify_message.hpp"

#include "crypto/peer_id.hpp"
#include "identify.pb.h"

namespace stargate::p2p::identify {

Bytes encode(const IdentifyInfo& info) {
  pb::identify::Identify msg;
  msg.set_protocolversion(info.protocol_version);
  msg.set_agentversion(info.agent_version);
  if (info.public_key) {
    auto key = crypto::encode_public_key_proto(*info.public_key);
    msg.set_publickey(key.data(), key.size());
  }
  for (const auto& addr : info.listen_addrs) msg.add_listenaddrs(addr.bytes().data(), addr.bytes().size());
  if (info.observed_addr) msg.set_observedaddr(info.observed_addr->bytes().data(), info.observed_addr->bytes().size());
  for (const auto& protocol : info.protocols) msg.add_protocols(protocol);
  if (!info.signed_peer_record.empty())
    msg.set_signedpeerrecord(info.signed_peer_record.data(), info.signed_peer_record.size());
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Result<IdentifyInfo> decode(BytesView message) {
  if (message.size() > max_message_size) return make_error("identify message too large");
  pb::identify::Identify msg;
  if (!msg.ParseFromArray(message.data(), static_cast<int>(message.size())))
    return make_error("identify message is not valid protobuf");
  IdentifyInfo info;
  info.protocol_version = msg.protocolversion();
  info.agent_version = msg.agentversion();
  if (msg.has_publickey()) {
    if (auto key = crypto::decode_public_key_proto(as_bytes(msg.publickey()))) info.public_key = *key;
  }
  for (const auto& raw : msg.listenaddrs()) {
    if (auto addr = Multiaddr::from_bytes(as_bytes(raw))) info.listen_addrs.push_back(std::move(*addr));
  }
  if (msg.has_observedaddr()) {
    if (auto addr = Multiaddr::from_bytes(as_bytes(msg.observedaddr()))) info.observed_addr = std::move(*addr);
  }
  info.protocols.assign(msg.protocols().begin(), msg.protocols().end());
  const auto& record = msg.signedpeerrecord();
  info.signed_peer_record.assign(record.begin(), record.end());
  return info;
}

}  // namespace stargate::p2p::identify
