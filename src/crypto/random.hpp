#pragma once
#include "base/bytes.hpp"

namespace stargate::crypto {

// Fills `out` from OpenSSL's CSPRNG; throws std::runtime_error if it fails.
void random_bytes(MutableBytesView out);

// Overwrites key material so it does not linger in freed memory.
void secure_wipe(MutableBytesView bytes);

}  // namespace stargate::crypto
