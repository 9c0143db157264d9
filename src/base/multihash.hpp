#pragma once
// Multihash: <varint hash code><varint digest length><digest>.
#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace stargate {

inline constexpr std::uint64_t kMultihashIdentity = 0x00;
inline constexpr std::uint64_t kMultihashSha2_256 = 0x12;

// Far above any real digest (sha2-512 is 64 bytes; identity peer IDs of Ed25519 keys are 36), and
// small enough that a hostile length cannot make us allocate much.
inline constexpr std::size_t kMaxMultihashDigest = 128;

struct Multihash {
  std::uint64_t code;
  Bytes digest;
  friend bool operator==(const Multihash&, const Multihash&) = default;
};

Bytes encode_multihash(std::uint64_t code, BytesView digest);

// Strict: the input must be exactly one multihash (no trailing bytes), with minimal varints and a
// digest no longer than kMaxMultihashDigest. Any hash code is accepted (the format does not depend
// on it), except that sha2-256 digests must be 32 bytes: nothing in libp2p truncates them, and a
// short one is a sign of a forged or corrupt ID.
Result<Multihash> decode_multihash(BytesView in);

}  // namespace stargate
