#pragma once
// SHA-256, HMAC-SHA256 and HKDF-SHA256 (OpenSSL 3).
#include "base/bytes.hpp"

#include <array>
#include <cstdint>

namespace stargate::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(BytesView data);
Sha256Digest hmac_sha256(BytesView key, BytesView data);
// RFC 5869 extract-and-expand. Noise's HKDF(ck, ikm, n) equals hkdf_sha256(ck, ikm, {}, 32 * n).
void hkdf_sha256(BytesView salt, BytesView ikm, BytesView info, MutableBytesView out);

}  // namespace stargate::crypto
