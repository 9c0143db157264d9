#include "base/multibase.hpp"

#include <gtest/gtest.h>

namespace stargate {
namespace {

// multiformats/multibase test vectors for "yes mani !".
struct MultibaseVector {
  Multibase base;
  const char* text;
};
constexpr MultibaseVector kYesMani[] = {
    {Multibase::base16, "f796573206d616e692021"},
    {Multibase::base32, "bpfsxgidnmfxgsibb"},
    {Multibase::base58btc, "z7paNL19xttacUY"},
    {Multibase::base64, "meWVzIG1hbmkgIQ"},
    {Multibase::base64url, "ueWVzIG1hbmkgIQ"},
};

TEST(Multibase, EncodesPublishedVectors) {
  for (const auto& v : kYesMani) EXPECT_EQ(multibase_encode(v.base, as_bytes("yes mani !")), v.text);
}

TEST(Multibase, DecodesPublishedVectors) {
  for (const auto& v : kYesMani) {
    auto r = multibase_decode(v.text);
    ASSERT_TRUE(r) << v.text << ": " << r.error().message;
    EXPECT_EQ(*r, to_bytes("yes mani !")) << v.text;
  }
}

TEST(Multibase, EmptyPayloadIsEmptyBytes) {
  EXPECT_EQ(multibase_encode(Multibase::base32, {}), "b");
  EXPECT_EQ(multibase_decode("b").value(), Bytes{});
}

TEST(Multibase, RejectsUnknownPrefix) {
  // 'k' is base36 and 'B' base32 upper: valid multibase, but not supported here.
  for (const char* bad : {"k51qzi5uqu5d", "BPFSXGIDNMFXGSIBB", "Qmabc", "?x"}) {
    auto r = multibase_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("unsupported prefix '" + std::string(1, bad[0]) + "'"), std::string::npos)
        << r.error().message;
  }
  auto empty = multibase_decode("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "multibase: empty string");
}

TEST(Multibase, ErrorsSayWhichEncodingAndWhere) {
  auto r = multibase_decode("z7paNL19x0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "multibase payload after 'z' prefix: base58: invalid character '0' at position 8");
  r = multibase_decode("bpfsxg1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "multibase payload after 'b' prefix: base32: invalid character '1' at position 5");
  EXPECT_FALSE(multibase_decode("meWVzIG1hbmkgIQ=="));  // padding belongs to 'M', not 'm'
  EXPECT_FALSE(multibase_decode("f79657"));             // odd hex length
}

}  // namespace
}  // namespace stargate
