#include "nats/sealed/wire.hpp"

#include "base/endian.hpp"

#include <algorithm>
#include <string>

namespace stargate::nats::sealed {

namespace {

void put_prefix(Bytes& out, MessageType type) {
  out.push_back(static_cast<std::uint8_t>(type));
  out.push_back(protocol_version);
  out.push_back(0);
  out.push_back(0);
}

SealError malformed(std::string what) { return seal_error(Errc::malformed, "sealed: " + std::move(what)); }

SealResult<void> check_body(BytesView body, std::size_t max_plaintext) {
  if (body.size() < aead_tag_size) return malformed("body shorter than its tag");
  if (body.size() - aead_tag_size > max_plaintext)
    return seal_error(Errc::too_large, "sealed: message of " + std::to_string(body.size() - aead_tag_size) +
                                           " bytes exceeds the limit of " + std::to_string(max_plaintext));
  return {};
}

}  // namespace

SealResult<MessageView> parse_message(BytesView wire, std::size_t max_plaintext) {
  if (wire.size() < 4) return malformed("message shorter than its type and version");
  const std::uint8_t type = wire[0];
  if (type < 1 || type > 3) return malformed("unknown message type " + std::to_string(type));
  if (wire[1] != protocol_version) return malformed("unsupported version " + std::to_string(wire[1]));
  if (wire[2] != 0 || wire[3] != 0) return malformed("reserved bytes are not zero");
  switch (static_cast<MessageType>(type)) {
    case MessageType::initiation: {
      if (wire.size() < initiation_body_offset) return malformed("initiation truncated");
      InitiationView v;
      v.sender_index = load_be32(wire.data() + 4);
      v.counter = load_be64(wire.data() + 8);
      v.prologue_fields = wire.first(8);
      v.message1 = wire.subspan(initiation_header_size, ik_message1_size);
      v.ad = wire.first(initiation_body_offset);
      v.body = wire.subspan(initiation_body_offset);
      if (auto r = check_body(v.body, max_plaintext); !r) return r.error();
      return MessageView{v};
    }
    case MessageType::response: {
      if (wire.size() < response_body_offset) return malformed("response truncated");
      ResponseView v;
      v.receiver_index = load_be32(wire.data() + 4);
      v.sender_index = load_be32(wire.data() + 8);
      v.counter = load_be64(wire.data() + 12);
      v.message2 = wire.subspan(response_header_size, ik_message2_size);
      v.ad = wire.first(response_body_offset);
      v.body = wire.subspan(response_body_offset);
      if (auto r = check_body(v.body, max_plaintext); !r) return r.error();
      return MessageView{v};
    }
    case MessageType::transport: {
      if (wire.size() < transport_header_size) return malformed("transport message truncated");
      TransportView v;
      v.receiver_index = load_be32(wire.data() + 4);
      v.counter = load_be64(wire.data() + 8);
      v.ad = wire.first(transport_header_size);
      v.body = wire.subspan(transport_header_size);
      if (auto r = check_body(v.body, max_plaintext); !r) return r.error();
      return MessageView{v};
    }
  }
  return malformed("unknown message type");
}

std::array<std::uint8_t, handshake_payload_size> encode_handshake_payload(const HandshakePayload& p) {
  std::array<std::uint8_t, handshake_payload_size> a{};
  store_be64(a.data(), p.timestamp_ns);
  std::copy(p.identity.begin(), p.identity.end(), a.begin() + 8);
  std::copy(p.signature.begin(), p.signature.end(), a.begin() + 40);
  std::copy(p.early_key.begin(), p.early_key.end(), a.begin() + 104);
  return a;
}

SealResult<HandshakePayload> decode_handshake_payload(BytesView bytes) {
  if (bytes.size() != handshake_payload_size)
    return malformed("handshake payload of " + std::to_string(bytes.size()) + " bytes, expected " +
                     std::to_string(handshake_payload_size));
  HandshakePayload p;
  p.timestamp_ns = load_be64(bytes.data());
  std::copy_n(bytes.begin() + 8, 32, p.identity.begin());
  std::copy_n(bytes.begin() + 40, 64, p.signature.begin());
  std::copy_n(bytes.begin() + 104, 32, p.early_key.begin());
  return p;
}

Bytes static_key_signature_message(const crypto::X25519Key& static_public_key) {
  Bytes m = to_bytes(static_key_signature_prefix);
  m.insert(m.end(), static_public_key.begin(), static_public_key.end());
  return m;
}

Bytes handshake_prologue(BytesView prologue_fields) {
  Bytes p = to_bytes(prologue_label);
  append(p, prologue_fields);
  return p;
}

void write_initiation_header(Bytes& out, std::uint32_t sender_index, std::uint64_t counter) {
  put_prefix(out, MessageType::initiation);
  append_be32(out, sender_index);
  append_be64(out, counter);
}

void write_response_header(Bytes& out, std::uint32_t receiver_index, std::uint32_t sender_index,
                           std::uint64_t counter) {
  put_prefix(out, MessageType::response);
  append_be32(out, receiver_index);
  append_be32(out, sender_index);
  append_be64(out, counter);
}

void write_transport_header(Bytes& out, std::uint32_t receiver_index, std::uint64_t counter) {
  put_prefix(out, MessageType::transport);
  append_be32(out, receiver_index);
  append_be64(out, counter);
}

}  // namespace stargate::nats::sealed
