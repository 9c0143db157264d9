#include "base/multiaddr_protocol.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>

#include "base/base58.hpp"
#include "base/endian.hpp"
#include "base/multibase.hpp"
#include "base/multihash.hpp"
#include "base/quote.hpp"
#include "base/varint.hpp"

namespace stargate {

namespace {

constexpr std::array kProtocols{
    ProtocolInfo{Protocol::ip4, "ip4", ValueFormat::ip4},
    ProtocolInfo{Protocol::tcp, "tcp", ValueFormat::port},
    ProtocolInfo{Protocol::ip6, "ip6", ValueFormat::ip6},
    ProtocolInfo{Protocol::ip6zone, "ip6zone", ValueFormat::name},
    ProtocolInfo{Protocol::ipcidr, "ipcidr", ValueFormat::cidr},
    ProtocolInfo{Protocol::dns, "dns", ValueFormat::name},
    ProtocolInfo{Protocol::dns4, "dns4", ValueFormat::name},
    ProtocolInfo{Protocol::dns6, "dns6", ValueFormat::name},
    ProtocolInfo{Protocol::dnsaddr, "dnsaddr", ValueFormat::name},
    ProtocolInfo{Protocol::udp, "udp", ValueFormat::port},
    ProtocolInfo{Protocol::webrtc_direct, "webrtc-direct", ValueFormat::none},
    ProtocolInfo{Protocol::webrtc, "webrtc", ValueFormat::none},
    ProtocolInfo{Protocol::p2p_circuit, "p2p-circuit", ValueFormat::none},
    ProtocolInfo{Protocol::p2p, "p2p", ValueFormat::peer_id},
    ProtocolInfo{Protocol::https, "https", ValueFormat::none},
    ProtocolInfo{Protocol::tls, "tls", ValueFormat::none},
    ProtocolInfo{Protocol::sni, "sni", ValueFormat::name},
    ProtocolInfo{Protocol::noise, "noise", ValueFormat::none},
    ProtocolInfo{Protocol::quic, "quic", ValueFormat::none},
    ProtocolInfo{Protocol::quic_v1, "quic-v1", ValueFormat::none},
    ProtocolInfo{Protocol::webtransport, "webtransport", ValueFormat::none},
    ProtocolInfo{Protocol::certhash, "certhash", ValueFormat::certhash},
    ProtocolInfo{Protocol::ws, "ws", ValueFormat::none},
    ProtocolInfo{Protocol::wss, "wss", ValueFormat::none},
    ProtocolInfo{Protocol::http, "http", ValueFormat::none},
};

// The multicodec code of a CID whose content is a libp2p public key (a peer ID).
constexpr std::uint64_t kLibp2pKeyCodec = 0x72;
// DNS names are at most 253 characters; zones and SNI are shorter in practice.
constexpr std::size_t kMaxNameLength = 255;

std::string invalid(const ProtocolInfo& info, std::string_view what, std::string_view text) {
  return "invalid " + std::string(info.name) + " " + std::string(what) + " " + quote(text);
}

Result<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
  // std::from_chars alone would accept leading zeros; a single spelling per number keeps text
  // forms canonical.
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return make_error("");
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > max) return make_error("");
  return value;
}

Result<Bytes> ip_from_text(const ProtocolInfo& info, std::string_view text, int family, std::size_t size) {
  // inet_pton wants a C string: an embedded NUL would silently cut the input short.
  const std::size_t max_text = family == AF_INET ? INET_ADDRSTRLEN : INET6_ADDRSTRLEN;
  Bytes out(size);
  if (text.size() >= max_text || text.find('\0') != std::string_view::npos ||
      inet_pton(family, std::string(text).c_str(), out.data()) != 1) {
    return make_error(invalid(info, "address", text));
  }
  return out;
}

Result<void> validate_name(const ProtocolInfo& info, std::string_view name) {
  if (name.empty()) return make_error("empty value for " + std::string(info.name));
  if (name.size() > kMaxNameLength) {
    return make_error(invalid(info, "value", name) + " (longer than " + std::to_string(kMaxNameLength) + ")");
  }
  // '/' would split the text form; control bytes and spaces have no place in these names and
  // would make log lines ambiguous.
  for (char c : name) {
    if (c <= ' ' || c >= 0x7f || c == '/') {
      return make_error(invalid(info, "value", name) + " (character " + quote_char(c) + ")");
    }
  }
  return {};
}

Result<void> validate_peer_multihash(BytesView value) {
  auto mh = decode_multihash(value);
  if (!mh) return make_error(mh.error().message);
  // libp2p peer IDs are an identity multihash of a small public key or sha2-256 of a larger one.
  if (mh->code != kMultihashIdentity && mh->code != kMultihashSha2_256) {
    return make_error("multihash code " + std::to_string(mh->code) + " is not identity or sha2-256");
  }
  return {};
}

Result<Bytes> peer_id_from_text(const ProtocolInfo& info, std::string_view text) {
  Bytes multihash;
  // The peer-ids spec: "Qm…" and "1…" are bare base58btc multihashes; anything else is a
  // multibase CIDv1 whose codec is libp2p-key.
  if (!text.empty() && (text[0] == 'Q' || text[0] == '1')) {
    auto decoded = base58btc_decode(text);
    if (!decoded) return make_error(invalid(info, "value", text) + ": " + decoded.error().message);
    multihash = std::move(*decoded);
  } else {
    auto cid = multibase_decode(text);
    if (!cid) return make_error(invalid(info, "value", text) + ": " + cid.error().message);
    BytesView rest = *cid;
    auto version = decode_uvarint(rest);
    if (!version || !*version || (*version)->value != 1) {
      return make_error(invalid(info, "value", text) + ": not a CIDv1");
    }
    rest = rest.subspan((*version)->length);
    auto codec = decode_uvarint(rest);
    if (!codec || !*codec || (*codec)->value != kLibp2pKeyCodec) {
      return make_error(invalid(info, "value", text) + ": CID codec is not libp2p-key");
    }
    rest = rest.subspan((*codec)->length);
    multihash.assign(rest.begin(), rest.end());
  }
  if (auto ok = validate_peer_multihash(multihash); !ok) {
    return make_error(invalid(info, "value", text) + ": " + ok.error().message);
  }
  return multihash;
}

}  // namespace

const ProtocolInfo* find_protocol(std::uint64_t code) {
  for (const auto& p : kProtocols) {
    if (static_cast<std::uint64_t>(p.protocol) == code) return &p;
  }
  return nullptr;
}

const ProtocolInfo* find_protocol(std::string_view name) {
  if (name == "ipfs") name = "p2p";  // the old name of the same code
  for (const auto& p : kProtocols) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string_view protocol_name(Protocol protocol) {
  const auto* info = find_protocol(static_cast<std::uint64_t>(protocol));
  return info != nullptr ? info->name : "unknown";
}

std::optional<std::size_t> fixed_value_size(ValueFormat format) {
  switch (format) {
    case ValueFormat::none: return 0;
    case ValueFormat::ip4: return 4;
    case ValueFormat::ip6: return 16;
    case ValueFormat::port: return 2;
    case ValueFormat::cidr: return 1;
    case ValueFormat::name:
    case ValueFormat::peer_id:
    case ValueFormat::certhash: return std::nullopt;
  }
  return std::nullopt;
}

Result<Bytes> value_from_text(const ProtocolInfo& info, std::string_view text) {
  switch (info.format) {
    case ValueFormat::none: return Bytes{};
    case ValueFormat::ip4: return ip_from_text(info, text, AF_INET, 4);
    case ValueFormat::ip6: return ip_from_text(info, text, AF_INET6, 16);
    case ValueFormat::port: {
      auto port = parse_decimal(text, 65535);
      if (!port) return make_error(invalid(info, "port", text));
      Bytes out(2);
      store_be16(out.data(), static_cast<std::uint16_t>(*port));
      return out;
    }
    case ValueFormat::cidr: {
      auto bits = parse_decimal(text, 255);
      if (!bits) return make_error(invalid(info, "value", text));
      return Bytes{static_cast<std::uint8_t>(*bits)};
    }
    case ValueFormat::name: {
      if (auto ok = validate_name(info, text); !ok) return ok.error();
      return to_bytes(text);
    }
    case ValueFormat::peer_id: return peer_id_from_text(info, text);
    case ValueFormat::certhash: {
      auto decoded = multibase_decode(text);
      if (!decoded) return make_error(invalid(info, "value", text) + ": " + decoded.error().message);
      if (auto mh = decode_multihash(*decoded); !mh) {
        return make_error(invalid(info, "value", text) + ": " + mh.error().message);
      }
      return decoded;
    }
  }
  return make_error("unsupported value format for " + std::string(info.name));
}

Result<void> validate_value(const ProtocolInfo& info, BytesView value) {
  if (auto size = fixed_value_size(info.format)) {
    if (value.size() != *size) {
      return make_error(std::string(info.name) + " value of " + std::to_string(value.size()) +
                        " bytes, expected " + std::to_string(*size));
    }
    return {};
  }
  switch (info.format) {
    case ValueFormat::name: return validate_name(info, as_string(value));
    case ValueFormat::peer_id:
      if (auto ok = validate_peer_multihash(value); !ok) {
        return make_error("invalid p2p value: " + ok.error().message);
      }
      return {};
    case ValueFormat::certhash:
      if (auto mh = decode_multihash(value); !mh) {
        return make_error("invalid certhash value: " + mh.error().message);
      }
      return {};
    default: return {};
  }
}

std::string value_to_text(const ProtocolInfo& info, BytesView value) {
  switch (info.format) {
    case ValueFormat::none: return {};
    case ValueFormat::ip4: {
      std::string out;
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out.push_back('.');
        out += std::to_string(value[i]);
      }
      return out;
    }
    case ValueFormat::ip6: {
      char buf[INET6_ADDRSTRLEN] = {};
      if (value.size() != 16 || inet_ntop(AF_INET6, value.data(), buf, sizeof buf) == nullptr) return {};
      return buf;
    }
    case ValueFormat::port:
      return value.size() == 2 ? std::to_string(load_be16(value.data())) : std::string{};
    case ValueFormat::cidr: return value.size() == 1 ? std::to_string(value[0]) : std::string{};
    case ValueFormat::name: return std::string(as_string(value));
    case ValueFormat::peer_id: return base58btc_encode(value);
    case ValueFormat::certhash: return multibase_encode(Multibase::base64url, value);
  }
  return {};
}

}  // namespace stargate
