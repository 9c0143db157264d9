#include "base/endian.hpp"

#include <gtest/gtest.h>

#include <array>

namespace stargate {

TEST(Endian, LoadsAndStoresMostSignificantByteFirst) {
  const std::uint8_t wire[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(load_be16(wire), 0x0123u);
  EXPECT_EQ(load_be32(wire), 0x01234567u);
  EXPECT_EQ(load_be64(wire), 0x0123456789abcdefull);

  std::uint8_t out[8] = {};
  store_be64(out, 0x0123456789abcdefull);
  EXPECT_EQ(Bytes(out, out + 8), Bytes(wire, wire + 8));
  store_be32(out, 0xfedcba98u);
  EXPECT_EQ(to_hex(BytesView(out, 4)), "fedcba98");
  store_be16(out, 0xffee);
  EXPECT_EQ(to_hex(BytesView(out, 2)), "ffee");
}

TEST(Endian, AppendsAfterWhatIsThere) {
  Bytes b{0xaa};
  append_be16(b, 0x0102);
  append_be32(b, 0x03040506);
  append_be64(b, 0x0708090a0b0c0d0eull);
  EXPECT_EQ(to_hex(b), "aa0102030405060708090a0b0c0d0e");
}

TEST(Endian, ExtremesRoundTrip) {
  static_assert(load_be<std::uint32_t>(std::array<std::uint8_t, 4>{0xff, 0, 0, 1}.data()) == 0xff000001u);
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, ~std::uint64_t{0}, std::uint64_t{1} << 63}) {
    std::uint8_t buf[8];
    store_be64(buf, v);
    EXPECT_EQ(load_be64(buf), v);
  }
}

}  // namespace stargate
