#pragma once
// libp2p peer IDs (libp2p/specs peer-ids/peer-ids.md) and Stargate's short agent IDs.
//
// A PeerId is a multihash of the protobuf-encoded public key: the identity multihash (code 0x00) for
// keys whose encoding is at most 42 bytes (Ed25519: 36 bytes, so `12D3KooW…` in base58btc), sha2-256
// (code 0x12) for longer ones (RSA: `Qm…`). Stargate's own keys are Ed25519; other peers' IDs of any
// kind can be parsed, compared and printed, but only an Ed25519 key can be extracted from one.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/ed25519.hpp"

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace stargate::crypto {

// The libp2p `PublicKey` protobuf of an Ed25519 key: 08 01 12 20 <32 bytes> (fields in number order,
// as the spec asks, so the encoding and therefore the PeerId are deterministic).
Bytes encode_public_key_proto(const Ed25519PublicKey& key);
// Parses a libp2p `PublicKey` protobuf; any key type other than Ed25519 is an error naming the type.
Result<Ed25519PublicKey> decode_public_key_proto(BytesView proto);

class PeerId {
 public:
  // An empty PeerId (no bytes; to_string() is ""), only so that structs holding one can be
  // default-constructed. Every factory below yields a non-empty one.
  PeerId() = default;

  static PeerId from_public_key(const Ed25519PublicKey& key);
  // The binary form (a multihash), as found in multiaddrs (/p2p/…) and protocol messages. Accepts an
  // identity multihash of at most 42 bytes or a sha2-256 multihash; nothing else.
  static Result<PeerId> from_bytes(BytesView multihash);
  // Text: a base58btc multihash (`12D3KooW…`, `Qm…`, `1…`) or a CIDv1 with the libp2p-key codec in
  // any supported multibase (`bafz…` base32 by default).
  static Result<PeerId> parse(std::string_view text);

  const Bytes& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  // The canonical text form: base58btc of the multihash.
  std::string to_string() const;
  // The CIDv1 form (`b` + base32 of 0x01 0x72 <multihash>).
  std::string to_cid_string() const;
  // The Ed25519 key inside an identity-multihash PeerId; an error for sha2-256 IDs (no key inside)
  // and for identity IDs that hold another key type.
  Result<Ed25519PublicKey> public_key() const;
  // True if `key` is the key this PeerId was derived from.
  bool matches(const Ed25519PublicKey& key) const;

  friend bool operator==(const PeerId&, const PeerId&) = default;
  friend std::strong_ordering operator<=>(const PeerId& a, const PeerId& b) {
    return a.bytes_ <=> b.bytes_;
  }

 private:
  explicit PeerId(Bytes multihash) : bytes_(std::move(multihash)) {}
  Bytes bytes_;
};

// Stargate's short agent ID (used on the NATS side): the first 16 bytes of SHA-256 of the raw
// 32-byte Ed25519 public key, as 32 lowercase hex characters.
std::string agent_id(const Ed25519PublicKey& key);
// Exactly 32 lowercase hex characters (the form of an agent ID; it says nothing about who holds it).
bool looks_like_agent_id(std::string_view text);

}  // namespace stargate::crypto

template <>
struct std::hash<stargate::crypto::PeerId> {
  std::size_t operator()(const stargate::crypto::PeerId& id) const noexcept {
    return std::hash<std::string_view>{}(stargate::as_string(id.bytes()));
  }
};
