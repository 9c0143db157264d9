#pragma once
#include "base/bytes.hpp"

#include <functional>

namespace stargate::crypto {

// Fills `out` from OpenSSL's CSPRNG; throws std::runtime_error if it fails.
void random_bytes(MutableBytesView out);

// Where a sans-IO core draws its randomness from: injected (as the gossipsub router's seed is) so
// that a test can make the core's output deterministic. Fills the whole span.
using RandomSource = std::function<void(MutableBytesView)>;
// `source`, or random_bytes when it is empty: what a core uses when nothing was injected.
RandomSource or_system_random(RandomSource source);

// Overwrites key material so it does not linger in freed memory.
void secure_wipe(MutableBytesView bytes);

}  // namespace stargate::crypto
