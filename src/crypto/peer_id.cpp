#include "crypto/peer_id.hpp"

#include "base/base58.hpp"
#include "base/multibase.hpp"
#include "base/multihash.hpp"
#include "crypto/sha256.hpp"
#include "keys.pb.h"

#include <cstdio>
#include <limits>

namespace stargate::crypto {
namespace {

// Keys whose protobuf encoding is at most this long are inlined (identity multihash) in the PeerId.
constexpr std::size_t kMaxInlineKeyLength = 42;
// CIDv1 with the libp2p-key multicodec: both are single-byte varints.
constexpr std::uint8_t kCidV1 = 0x01;
constexpr std::uint8_t kLibp2pKeyCodec = 0x72;

const char* key_type_name(int type) {
  switch (type) {
    case pb::RSA: return "RSA";
    case pb::Ed25519: return "Ed25519";
    case pb::Secp256k1: return "Secp256k1";
    case pb::ECDSA: return "ECDSA";
    default: return "unknown";
  }
}

}  // namespace

Bytes encode_public_key_proto(const Ed25519PublicKey& key) {
  // Field 1 (Type, varint) = 1 (Ed25519); field 2 (Data, length-delimited) = 32 bytes.
  Bytes out{0x08, 0x01, 0x12, 0x20};
  append(out, key.bytes());
  return out;
}

Result<Ed25519PublicKey> decode_public_key_proto(BytesView proto) {
  if (proto.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return make_error("public key protobuf too large");
  }
  pb::PublicKey msg;
  // ParsePartial + our own check of the required fields: ParseFromArray would also log to stderr
  // for every malformed key a peer sends.
  if (!msg.ParsePartialFromArray(proto.data(), static_cast<int>(proto.size())) || !msg.has_type() ||
      !msg.has_data()) {
    return make_error("not a valid libp2p PublicKey protobuf (" + std::to_string(proto.size()) +
                      " bytes; Type and Data are required, Type must be a known key type)");
  }
  if (msg.type() != pb::Ed25519) {
    return make_error(std::string("unsupported public key type ") + key_type_name(msg.type()) +
                      ": only Ed25519 keys are supported");
  }
  if (msg.data().size() != 32) {
    return make_error("Ed25519 public key in PublicKey protobuf must be 32 bytes, got " +
                      std::to_string(msg.data().size()));
  }
  return Ed25519PublicKey::from_bytes(as_bytes(msg.data()));
}

PeerId PeerId::from_public_key(const Ed25519PublicKey& key) {
  return PeerId(encode_multihash(kMultihashIdentity, encode_public_key_proto(key)));
}

Result<PeerId> PeerId::from_bytes(BytesView multihash) {
  auto mh = decode_multihash(multihash);
  if (!mh) return make_error("invalid peer ID: " + mh.error().message);
  if (mh->code == kMultihashIdentity) {
    if (mh->digest.empty() || mh->digest.size() > kMaxInlineKeyLength) {
      return make_error("invalid peer ID: identity multihash must hold 1 to 42 bytes of key, got " +
                        std::to_string(mh->digest.size()));
    }
  } else if (mh->code != kMultihashSha2_256) {
    char code[32];
    std::snprintf(code, sizeof code, "0x%llx", static_cast<unsigned long long>(mh->code));
    return make_error(std::string("invalid peer ID: multihash code ") + code +
                      " is neither identity (0x00) nor sha2-256 (0x12)");
  }
  return PeerId(Bytes(multihash.begin(), multihash.end()));
}

Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.empty()) return make_error("invalid peer ID: empty string");
  // The spec: a bare base58btc multihash starts with '1' (identity) or "Qm" (sha2-256).
  if (text.front() == '1' || text.starts_with("Qm")) {
    auto raw = base58btc_decode(text);
    if (!raw) return make_error("invalid peer ID '" + std::string(text) + "': " + raw.error().message);
    auto id = from_bytes(*raw);
    if (!id) return make_error(id.error().message + " ('" + std::string(text) + "')");
    return id;
  }
  // Otherwise a multibase-encoded CIDv1 with the libp2p-key codec.
  auto raw = multibase_decode(text);
  if (!raw) {
    return make_error("invalid peer ID '" + std::string(text) +
                      "': neither a base58btc multihash (1…, Qm…) nor a multibase CID (" + raw.error().message + ")");
  }
  if (raw->size() < 2 || (*raw)[0] != kCidV1 || (*raw)[1] != kLibp2pKeyCodec) {
    return make_error("invalid peer ID '" + std::string(text) + "': not a CIDv1 with the libp2p-key codec (0x72)");
  }
  auto id = from_bytes(BytesView(*raw).subspan(2));
  if (!id) return make_error(id.error().message + " ('" + std::string(text) + "')");
  return id;
}

std::string PeerId::to_string() const { return bytes_.empty() ? std::string() : base58btc_encode(bytes_); }

std::string PeerId::to_cid_string() const {
  if (bytes_.empty()) return {};
  Bytes cid{kCidV1, kLibp2pKeyCodec};
  append(cid, bytes_);
  return multibase_encode(Multibase::base32, cid);
}

Result<Ed25519PublicKey> PeerId::public_key() const {
  if (bytes_.empty()) return make_error("empty peer ID has no public key");
  auto mh = decode_multihash(bytes_);
  if (!mh) return make_error("invalid peer ID: " + mh.error().message);  // unreachable: checked on creation
  if (mh->code != kMultihashIdentity) {
    return make_error("peer ID " + to_string() +
                      " is a sha2-256 hash of its key (an RSA or other long key): the key cannot be extracted");
  }
  auto key = decode_public_key_proto(mh->digest);
  if (!key) return make_error("peer ID " + to_string() + ": " + key.error().message);
  // Only the canonical encoding names this key: anything else would give two IDs for one key.
  if (encode_public_key_proto(*key) != mh->digest) {
    return make_error("peer ID " + to_string() + " holds a non-canonical PublicKey encoding");
  }
  return key;
}

bool PeerId::matches(const Ed25519PublicKey& key) const { return *this == from_public_key(key); }

std::string agent_id(const Ed25519PublicKey& key) {
  auto digest = sha256(key.bytes());
  return to_hex(BytesView(digest.data(), 16));
}

bool looks_like_agent_id(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace stargate::crypto
