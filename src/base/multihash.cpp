#include "base/multihash.hpp"

#include <string>

#include "base/varint.hpp"

namespace stargate {

Bytes encode_multihash(std::uint64_t code, BytesView digest) {
  Bytes out;
  out.reserve(uvarint_size(code) + uvarint_size(digest.size()) + digest.size());
  append_uvarint(out, code);
  append_uvarint(out, digest.size());
  append(out, digest);
  return out;
}

Result<Multihash> decode_multihash(BytesView in) {
  auto code = decode_uvarint(in);
  if (!code) return make_error("multihash: bad hash code: " + code.error().message);
  if (!*code) return make_error("multihash: truncated hash code");
  in = in.subspan((*code)->length);

  auto length = decode_uvarint(in);
  if (!length) return make_error("multihash: bad digest length: " + length.error().message);
  if (!*length) return make_error("multihash: truncated digest length");
  in = in.subspan((*length)->length);

  const std::uint64_t digest_size = (*length)->value;
  if (digest_size > kMaxMultihashDigest) {
    return make_error("multihash: digest length " + std::to_string(digest_size) + " exceeds " +
                      std::to_string(kMaxMultihashDigest));
  }
  if (digest_size != in.size()) {
    return make_error("multihash: digest length " + std::to_string(digest_size) + " but " +
                      std::to_string(in.size()) + " bytes follow");
  }
  if ((*code)->value == kMultihashSha2_256 && digest_size != 32) {
    return make_error("multihash: sha2-256 digest of " + std::to_string(digest_size) + " bytes, expected 32");
  }
  return Multihash{(*code)->value, Bytes(in.begin(), in.end())};
}

}  // namespace stargate
