#pragma once
// Big-endian (network byte order) loads and stores: the byte order of every fixed-width integer on
// our wires (Yamux headers, Noise frame lengths, the NATS sealed messages and chunks, perf's byte
// counts, multiaddr ports). One set, here, instead of a shift ladder per codec. Callers check
// bounds: `p` must point at sizeof(T) readable (or writable) bytes.
#include "base/bytes.hpp"

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace stargate {

template <std::unsigned_integral T>
constexpr T load_be(const std::uint8_t* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | p[i]);
  return v;
}

template <std::unsigned_integral T>
constexpr void store_be(std::uint8_t* p, T v) {
  for (std::size_t i = sizeof(T); i-- > 0;) {
    p[i] = static_cast<std::uint8_t>(v);
    v = static_cast<T>(v >> 8);
  }
}

template <std::unsigned_integral T>
void append_be(Bytes& out, T v) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  store_be<T>(out.data() + at, v);
}

constexpr std::uint16_t load_be16(const std::uint8_t* p) { return load_be<std::uint16_t>(p); }
constexpr std::uint32_t load_be32(const std::uint8_t* p) { return load_be<std::uint32_t>(p); }
constexpr std::uint64_t load_be64(const std::uint8_t* p) { return load_be<std::uint64_t>(p); }
constexpr void store_be16(std::uint8_t* p, std::uint16_t v) { store_be<std::uint16_t>(p, v); }
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) { store_be<std::uint32_t>(p, v); }
constexpr void store_be64(std::uint8_t* p, std::uint64_t v) { store_be<std::uint64_t>(p, v); }
inline void append_be16(Bytes& out, std::uint16_t v) { append_be<std::uint16_t>(out, v); }
inline void append_be32(Bytes& out, std::uint32_t v) { append_be<std::uint32_t>(out, v); }
inline void append_be64(Bytes& out, std::uint64_t v) { append_be<std::uint64_t>(out, v); }

}  // namespace stargate
