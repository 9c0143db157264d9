#include "p2p/yamux/frame.hpp"

#include "base/endian.hpp"

#include <string>

namespace stargate::p2p::yamux {

void encode_header(const Header& h, std::uint8_t* out) {
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(h.type);
  store_be16(out + 2, h.flags);
  store_be32(out + 4, h.stream_id);
  store_be32(out + 8, h.length);
}

void append_header(Bytes& out, const Header& h) {
  std::uint8_t buf[kHeaderSize];
  encode_header(h, buf);
  out.insert(out.end(), buf, buf + kHeaderSize);
}

void append_frame(Bytes& out, const Header& h, BytesView body) {
  append_header(out, h);
  out.insert(out.end(), body.begin(), body.end());
}

Result<Header> decode_header(BytesView in) {
  const std::uint8_t* p = in.data();
  if (p[0] != kVersion) return make_error("yamux: unsupported version " + std::to_string(p[0]));
  if (p[1] > static_cast<std::uint8_t>(FrameType::go_away)) {
    return make_error("yamux: unknown frame type " + std::to_string(p[1]));
  }
  return Header{static_cast<FrameType>(p[1]), load_be16(p + 2), load_be32(p + 4), load_be32(p + 8)};
}

Result<std::optional<DecodedFrame>> decode_frame(BytesView in, std::uint32_t max_data) {
  if (in.size() < kHeaderSize) return std::optional<DecodedFrame>{};
  auto h = decode_header(in);
  if (!h) return h.error();
  std::size_t body = 0;
  if (h->type == FrameType::data) {
    if (h->length > max_data) return make_error("yamux: data frame too large");
    body = h->length;
  }
  if (in.size() - kHeaderSize < body) return std::optional<DecodedFrame>{};
  return std::optional<DecodedFrame>{DecodedFrame{*h, in.subspan(kHeaderSize, body), kHeaderSize + body}};
}

}  // namespace stargate::p2p::yamux
