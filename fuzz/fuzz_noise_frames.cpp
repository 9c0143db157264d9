// libFuzzer target: libp2p Noise transport framing (SecureTransport::decrypt) fed hostile bytes under
// a fixed key. The first input byte picks the mode:
//   even: the rest is wire data, delivered in chunks whose size the second byte picks;
//   odd:  the rest is plaintext, encrypted then decrypted in chunks: it must come back unchanged.
#include "p2p/noise/secure_transport.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace stargate;
using namespace stargate::p2p::noise;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

CipherState::Key fixed_key(std::uint8_t fill) {
  CipherState::Key k{};
  k.fill(fill);
  return k;
}

SecureTransport make_transport(bool swapped) {
  CipherState a(fixed_key(0x11)), b(fixed_key(0x22));
  return swapped ? SecureTransport(std::move(b), std::move(a)) : SecureTransport(std::move(a), std::move(b));
}

std::size_t chunk_size(std::uint8_t selector) {
  static constexpr std::size_t sizes[] = {1, 2, 3, 7, 16, 17, 18, 64, 1000, 65537, SIZE_MAX};
  return sizes[selector % (sizeof(sizes) / sizeof(sizes[0]))];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool roundtrip = data[0] & 1;
  const std::size_t chunk = chunk_size(data[1]);
  const BytesView body(data + 2, size - 2);

  auto receiver = make_transport(false);  // receives with key 0x22
  Bytes wire;
  if (roundtrip) {
    auto sender = make_transport(true);  // sends with key 0x22
    sender.encrypt(body, wire);
    check(wire.size() == SecureTransport::encrypted_size(body.size()));
  } else {
    wire.assign(body.begin(), body.end());
  }

  Bytes plaintext;
  bool ok = true;
  for (std::size_t at = 0; at < wire.size() && ok;) {
    const std::size_t n = std::min(chunk, wire.size() - at);
    const std::size_t before = plaintext.size();
    auto r = receiver.decrypt(BytesView(wire).subspan(at, n), plaintext);
    check(plaintext.size() >= before);
    check(receiver.buffered() <= frame_header_size + max_message_size);
    if (!r) {
      check(receiver.failed());
      check(!receiver.decrypt(BytesView(wire).subspan(at, n), plaintext));  // failure is sticky
      ok = false;
    }
    at += n;
  }
  if (roundtrip) {
    check(ok);
    check(receiver.buffered() == 0);
    check(plaintext.size() == body.size() && std::equal(plaintext.begin(), plaintext.end(), body.begin()));
  }
  return 0;
}
