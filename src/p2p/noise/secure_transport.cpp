#include "p2p/noise/secure_transport.hpp"

#include "base/endian.hpp"
#include "crypto/random.hpp"

#include <algorithm>

namespace stargate::p2p::noise {

SecureTransport::SecureTransport(CipherState send, CipherState recv)
    : send_(std::move(send)), recv_(std::move(recv)) {}

std::size_t SecureTransport::encrypted_size(std::size_t n) {
  const std::size_t frames = (n + max_frame_plaintext - 1) / max_frame_plaintext;
  return n + frames * (frame_header_size + tag_size);
}

void SecureTransport::encrypt(BytesView plaintext, Bytes& out) {
  if (plaintext.empty()) return;
  std::size_t pos = out.size();
  out.resize(pos + encrypted_size(plaintext.size()));
  while (!plaintext.empty()) {
    const std::size_t n = std::min(plaintext.size(), max_frame_plaintext);
    const std::size_t len = n + tag_size;
    store_be16(out.data() + pos, static_cast<std::uint16_t>(len));
    if (auto r = send_.encrypt_into({}, plaintext.first(n), out.data() + pos + frame_header_size); !r) {
      out.resize(pos);  // frames already sealed stay valid; this one and the rest are dropped
      throw ErrorException(r.error().message);
    }
    pos += frame_header_size + len;
    plaintext = plaintext.subspan(n);
  }
}

std::size_t SecureTransport::bytes_to_complete_frame() const {
  if (pending_.empty()) return 0;
  if (pending_.size() < frame_header_size) return frame_header_size - pending_.size();
  return frame_header_size + load_be16(pending_.data()) - pending_.size();
}

Result<void> SecureTransport::open_frame(BytesView ciphertext, Bytes& plaintext_out) {
  if (ciphertext.size() < tag_size) {
    failed_ = true;
    return make_error("noise: transport frame shorter than its 16-byte tag");
  }
  const std::size_t start = plaintext_out.size();
  plaintext_out.resize(start + ciphertext.size() - tag_size);
  if (auto r = recv_.decrypt_into({}, ciphertext, plaintext_out.data() + start); !r) {
    crypto::secure_wipe(MutableBytesView(plaintext_out).subspan(start));  // unauthenticated plaintext
    plaintext_out.resize(start);
    failed_ = true;
    return make_error("noise: transport frame failed authentication (tampered, reordered or wrong key)");
  }
  return {};
}

Result<void> SecureTransport::decrypt(BytesView wire, Bytes& plaintext_out) {
  if (failed_) return make_error("noise: secure channel already failed");

  // First finish a frame left incomplete by the previous call.
  if (!pending_.empty()) {
    if (pending_.size() < frame_header_size) {
      const std::size_t take = std::min(frame_header_size - pending_.size(), wire.size());
      append(pending_, wire.first(take));
      wire = wire.subspan(take);
      if (pending_.size() < frame_header_size) return {};
    }
    const std::size_t take = std::min(bytes_to_complete_frame(), wire.size());
    append(pending_, wire.first(take));
    wire = wire.subspan(take);
    if (bytes_to_complete_frame() != 0) return {};
    auto r = open_frame(BytesView(pending_).subspan(frame_header_size), plaintext_out);
    pending_.clear();
    if (!r) return r;
  }

  // Then every whole frame straight from the caller's buffer.
  while (wire.size() >= frame_header_size) {
    const std::size_t len = load_be16(wire.data());
    if (wire.size() < frame_header_size + len) break;
    if (auto r = open_frame(wire.subspan(frame_header_size, len), plaintext_out); !r) return r;
    wire = wire.subspan(frame_header_size + len);
  }

  if (!wire.empty()) {
    if (pending_.capacity() == 0) pending_.reserve(frame_header_size + max_message_size);
    append(pending_, wire);
  }
  return {};
}

}  // namespace stargate::p2p::noise
