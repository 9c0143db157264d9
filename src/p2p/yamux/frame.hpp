#pragma once
// Yamux frame codec (hashicorp/yamux spec.md, as used by libp2p under /yamux/1.0.0): a fixed
// 12-byte big-endian header, followed by `length` payload bytes for data frames only. For the
// other types `length` is a value (window delta, ping opaque, go-away code), never a body size.
#include "base/bytes.hpp"
#include "base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace stargate::p2p::yamux {

using StreamId = std::uint32_t;

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint8_t kVersion = 0;
// Every stream starts with this much credit in each direction; the spec fixes it, so a peer may
// rely on it before it has heard anything from us about the stream.
inline constexpr std::uint32_t kDefaultWindow = 256 * 1024;

enum class FrameType : std::uint8_t { data = 0, window_update = 1, ping = 2, go_away = 3 };

namespace flag {
inline constexpr std::uint16_t syn = 0x1;
inline constexpr std::uint16_t ack = 0x2;
inline constexpr std::uint16_t fin = 0x4;
inline constexpr std::uint16_t rst = 0x8;
}  // namespace flag

namespace go_away_code {
inline constexpr std::uint32_t normal = 0;
inline constexpr std::uint32_t protocol_error = 1;
inline constexpr std::uint32_t internal_error = 2;
}  // namespace go_away_code

struct Header {
  FrameType type = FrameType::data;
  std::uint16_t flags = 0;
  StreamId stream_id = 0;
  std::uint32_t length = 0;

  bool has(std::uint16_t f) const { return (flags & f) != 0; }
  friend bool operator==(const Header&, const Header&) = default;
};

// Writes exactly kHeaderSize bytes at `out`.
void encode_header(const Header& h, std::uint8_t* out);
void append_header(Bytes& out, const Header& h);
// Appends a header and body; for data frames header.length must equal body.size().
void append_frame(Bytes& out, const Header& h, BytesView body = {});

// Decodes the first kHeaderSize bytes of `in` (which must hold at least that many); rejects a
// version other than 0 and an unknown type, so callers never see either.
Result<Header> decode_header(BytesView in);

struct DecodedFrame {
  Header header;
  BytesView body;          // data frames only; points into the input
  std::size_t size = 0;    // bytes of input the frame occupies
};

// Decodes one whole frame from the front of `in`: nullopt when more bytes are needed. A data
// frame longer than `max_data` is an error (so a hostile length cannot make anyone wait for, or
// buffer, gigabytes).
Result<std::optional<DecodedFrame>> decode_frame(BytesView in, std::uint32_t max_data);

}  // namespace stargate::p2p::yamux
