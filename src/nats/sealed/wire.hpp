#pragma once
// Wire format of the NATS sealed session layer (docs/nats-sealed-session.md): three message types,
// every integer big-endian, every message starting with type, version and two reserved zero bytes.
//
//   initiation (caller -> callee; also every request sent while the handshake is pending)
//     0  u8  type = 1        1  u8 version = 1     2  u16 reserved = 0
//     4  u32 sender index (the caller's session index)
//     8  u64 counter (early-data counter of this handshake)
//     16 Noise IK message 1 (232 bytes): e (32) | encrypted s (48) | encrypted payload (152)
//     248 body: ChaCha20-Poly1305(early key, nonce = counter, ad = bytes 0..248) of the request
//   response (callee -> caller, while the callee has not yet seen a transport message)
//     0  u8  type = 2        1  u8 version = 1     2  u16 reserved = 0
//     4  u32 receiver index (the caller's)   8  u32 sender index (the callee's)
//     12 u64 counter (the callee's sending counter)
//     20 Noise IK message 2 (48 bytes): e (32) | encrypted empty payload (16)
//     68 body: ChaCha20-Poly1305(callee->caller key, nonce = counter, ad = bytes 0..68)
//   transport (either way, once established)
//     0  u8  type = 3        1  u8 version = 1     2  u16 reserved = 0
//     4  u32 receiver index  8  u64 counter
//     16 body: ChaCha20-Poly1305(direction key, nonce = counter, ad = bytes 0..16)
//
// The IK message 1 payload (136 bytes): u64 timestamp (unix nanoseconds) | caller Ed25519 public key
// (32) | Ed25519 signature over "stargate-nats-static-key:" || caller X25519 static key (64) | early
// key (32, random per handshake). The Noise prologue is "stargate-nats-sealed-v1" || bytes 0..8 of
// the initiation (type, version, reserved, sender index).
#include "base/bytes.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/x25519.hpp"
#include "nats/sealed/errors.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace stargate::nats::sealed {

inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::string_view prologue_label = "stargate-nats-sealed-v1";
inline constexpr std::string_view static_key_signature_prefix = "stargate-nats-static-key:";

enum class MessageType : std::uint8_t { initiation = 1, response = 2, transport = 3 };

inline constexpr std::size_t aead_tag_size = 16;
inline constexpr std::size_t handshake_payload_size = 8 + 32 + 64 + 32;                       // 136
inline constexpr std::size_t ik_message1_size = 32 + (32 + aead_tag_size) + (handshake_payload_size + aead_tag_size);  // 232
inline constexpr std::size_t ik_message2_size = 32 + aead_tag_size;                           // 48
inline constexpr std::size_t initiation_header_size = 16;
inline constexpr std::size_t initiation_body_offset = initiation_header_size + ik_message1_size;  // 248
inline constexpr std::size_t response_header_size = 20;
inline constexpr std::size_t response_body_offset = response_header_size + ik_message2_size;      // 68
inline constexpr std::size_t transport_header_size = 16;
// The number of bytes a message of each type adds to its plaintext.
inline constexpr std::size_t initiation_overhead = initiation_body_offset + aead_tag_size;  // 264
inline constexpr std::size_t response_overhead = response_body_offset + aead_tag_size;      // 84
inline constexpr std::size_t transport_overhead = transport_header_size + aead_tag_size;    // 32

using EarlyKey = std::array<std::uint8_t, 32>;

// Views into a received message (valid as long as the wire bytes are).
struct InitiationView {
  std::uint32_t sender_index = 0;
  std::uint64_t counter = 0;
  BytesView prologue_fields;  // bytes 0..8
  BytesView message1;         // the Noise IK message 1
  BytesView ad;               // bytes 0..248: the body's associated data
  BytesView body;             // ciphertext and tag
};
struct ResponseView {
  std::uint32_t receiver_index = 0;
  std::uint32_t sender_index = 0;
  std::uint64_t counter = 0;
  BytesView message2;
  BytesView ad;  // bytes 0..68
  BytesView body;
};
struct TransportView {
  std::uint32_t receiver_index = 0;
  std::uint64_t counter = 0;
  BytesView ad;  // bytes 0..16
  BytesView body;
};
using MessageView = std::variant<InitiationView, ResponseView, TransportView>;

// Splits a message into its fields. Errors: malformed (too short, unknown type, unknown version,
// non-zero reserved bytes), too_large (a body over max_plaintext + tag). Authenticates nothing.
SealResult<MessageView> parse_message(BytesView wire, std::size_t max_plaintext);

struct HandshakePayload {
  std::uint64_t timestamp_ns = 0;
  std::array<std::uint8_t, 32> identity{};  // the caller's Ed25519 public key
  crypto::Ed25519Signature signature{};     // over static_key_signature_message(caller static)
  EarlyKey early_key{};
};
std::array<std::uint8_t, handshake_payload_size> encode_handshake_payload(const HandshakePayload& p);
SealResult<HandshakePayload> decode_handshake_payload(BytesView bytes);

// "stargate-nats-static-key:" || the X25519 static public key: what the caller's identity signs.
Bytes static_key_signature_message(const crypto::X25519Key& static_public_key);

// "stargate-nats-sealed-v1" || the 8 first bytes of the initiation.
Bytes handshake_prologue(BytesView prologue_fields);

// Header writers: each appends its fixed header to `out`.
void write_initiation_header(Bytes& out, std::uint32_t sender_index, std::uint64_t counter);
void write_response_header(Bytes& out, std::uint32_t receiver_index, std::uint32_t sender_index,
                           std::uint64_t counter);
void write_transport_header(Bytes& out, std::uint32_t receiver_index, std::uint64_t counter);

}  // namespace stargate::nats::sealed
