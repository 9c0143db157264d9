#include "p2p/yamux/frame.hpp"

#include <string>

namespace stargate::p2p::yamux {

namespace {

void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put_u32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

void encode_header(const Header& h, std::uint8_t* out) {
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(h.type);
  put_u16(out + 2, h.flags);
  put_u32(out + 4, h.stream_id);
  put_u32(out + 8, h.length);
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
  return Header{static_cast<FrameType>(p[1]), get_u16(p + 2), get_u32(p + 4), get_u32(p + 8)};
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
