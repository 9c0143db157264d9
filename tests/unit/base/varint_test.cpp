#include "base/varint.hpp"

#include <gtest/gtest.h>

#include "hex_helper.hpp"

namespace stargate {
namespace {

using test::hex;

struct VarintVector {
  std::uint64_t value;
  const char* encoded;
};

// multiformats/unsigned-varint README examples, plus the 9-byte maximum.
constexpr VarintVector kVarintVectors[] = {
    {0, "00"},       {1, "01"},         {127, "7f"},     {128, "8001"},
    {255, "ff01"},   {300, "ac02"},     {16384, "808001"},
    {kMaxUvarintValue, "ffffffffffffffff7f"},
};

TEST(Varint, EncodesSpecVectors) {
  for (const auto& v : kVarintVectors) {
    Bytes out{0xaa};  // appends, keeps what was there
    append_uvarint(out, v.value);
    EXPECT_EQ(to_hex(out), std::string("aa") + v.encoded) << v.value;
    EXPECT_EQ(uvarint_size(v.value), out.size() - 1) << v.value;
  }
}

TEST(Varint, DecodesSpecVectors) {
  for (const auto& v : kVarintVectors) {
    Bytes in = hex(v.encoded);
    in.push_back(0xff);  // bytes after the varint are not consumed
    auto r = decode_uvarint(in);
    ASSERT_TRUE(r) << v.encoded << ": " << r.error().message;
    ASSERT_TRUE(r->has_value()) << v.encoded;
    EXPECT_EQ((*r)->value, v.value);
    EXPECT_EQ((*r)->length, in.size() - 1);
  }
}

TEST(Varint, EveryProperPrefixNeedsMoreBytes) {
  for (const auto& v : kVarintVectors) {
    const Bytes full = hex(v.encoded);
    for (std::size_t n = 0; n < full.size(); ++n) {
      auto r = decode_uvarint(BytesView(full).first(n));
      ASSERT_TRUE(r) << v.encoded << " prefix " << n;
      EXPECT_FALSE(r->has_value()) << v.encoded << " prefix " << n;
    }
  }
}

TEST(Varint, RejectsNonMinimal) {
  for (const char* bad : {"8000", "ff00", "808000", "8180808000"}) {
    auto r = decode_uvarint(hex(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("not minimally encoded"), std::string::npos) << r.error().message;
  }
}

TEST(Varint, RejectsMoreThanNineBytes) {
  // Nine bytes with the continuation bit set on the last: invalid whatever follows.
  for (const char* bad : {"ffffffffffffffffff", "ffffffffffffffffff01", "808080808080808080"}) {
    auto r = decode_uvarint(hex(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("longer than 9 bytes"), std::string::npos) << r.error().message;
  }
}

TEST(Varint, ValuesAboveTheLimitEncodeButDoNotDecode) {
  Bytes out;
  append_uvarint(out, kMaxUvarintValue + 1);
  EXPECT_EQ(out.size(), 10u);
  EXPECT_EQ(uvarint_size(kMaxUvarintValue + 1), 10u);
  EXPECT_FALSE(decode_uvarint(out));
}

TEST(Varint, RoundTripsAroundEveryGroupBoundary) {
  for (unsigned bits = 0; bits < 63; ++bits) {
    for (std::uint64_t value : {(std::uint64_t{1} << bits) - 1, std::uint64_t{1} << bits,
                                (std::uint64_t{1} << bits) + 1}) {
      Bytes out;
      append_uvarint(out, value);
      ASSERT_EQ(out.size(), uvarint_size(value));
      auto r = decode_uvarint(out);
      ASSERT_TRUE(r && r->has_value()) << value;
      EXPECT_EQ((*r)->value, value);
      EXPECT_EQ((*r)->length, out.size());
    }
  }
}

}  // namespace
}  // namespace stargate
