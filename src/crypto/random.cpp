#include "crypto/random.hpp"

#include "crypto/openssl_util.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>

namespace stargate::crypto {

void random_bytes(MutableBytesView out) {
  std::size_t done = 0;
  while (done < out.size()) {
    auto chunk = std::min<std::size_t>(out.size() - done, INT_MAX);
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      detail::throw_openssl_error("RAND_bytes");
    }
    done += chunk;
  }
}

RandomSource or_system_random(RandomSource source) {
  if (source) return source;
  return [](MutableBytesView out) { random_bytes(out); };
}

void secure_wipe(MutableBytesView bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

}  // namespace stargate::crypto
