#include "base/rfc4648.hpp"

#include <gtest/gtest.h>

#include <random>

namespace stargate {
namespace {

// RFC 4648 section 10 test vectors, lowercase where multibase wants it and without padding.
struct Rfc4648Vector {
  const char* plain;
  const char* b16;
  const char* b32;
  const char* b64;
};
constexpr Rfc4648Vector kRfc4648Vectors[] = {
    {"", "", "", ""},
    {"f", "66", "my", "Zg"},
    {"fo", "666f", "mzxq", "Zm8"},
    {"foo", "666f6f", "mzxw6", "Zm9v"},
    {"foob", "666f6f62", "mzxw6yq", "Zm9vYg"},
    {"fooba", "666f6f6261", "mzxw6ytb", "Zm9vYmE"},
    {"foobar", "666f6f626172", "mzxw6ytboi", "Zm9vYmFy"},
};

TEST(Rfc4648, EncodesRfcVectors) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(base16_encode(as_bytes(v.plain)), v.b16);
    EXPECT_EQ(base32_encode(as_bytes(v.plain)), v.b32);
    EXPECT_EQ(base64_encode(as_bytes(v.plain)), v.b64);
    EXPECT_EQ(base64url_encode(as_bytes(v.plain)), v.b64);  // same alphabet for these bytes
  }
}

TEST(Rfc4648, DecodesRfcVectors) {
  for (const auto& v : kRfc4648Vectors) {
    EXPECT_EQ(base16_decode(v.b16).value(), to_bytes(v.plain));
    EXPECT_EQ(base32_decode(v.b32).value(), to_bytes(v.plain));
    EXPECT_EQ(base64_decode(v.b64).value(), to_bytes(v.plain));
    EXPECT_EQ(base64url_decode(v.b64).value(), to_bytes(v.plain));
  }
}

TEST(Rfc4648, Base64AndBase64UrlDifferOnlyInTwoCharacters) {
  const Bytes data{0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(data), "+/+/");
  EXPECT_EQ(base64url_encode(data), "-_-_");
  EXPECT_FALSE(base64_decode("-_-_"));
  EXPECT_FALSE(base64url_decode("+/+/"));
}

TEST(Rfc4648, RejectsBadCharactersNamingThePosition) {
  auto r = base32_decode("mzxW6");  // base32 here is the lowercase alphabet only
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "base32: invalid character 'W' at position 3");
  r = base16_decode("66AF");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "base16: invalid character 'A' at position 2");
  r = base64_decode("Zm9v!");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "base64: invalid character '!' at position 4");
}

TEST(Rfc4648, RejectsPadding) {
  EXPECT_FALSE(base64_decode("Zg=="));
  EXPECT_FALSE(base32_decode("my======"));
}

TEST(Rfc4648, RejectsLengthsNoEncoderProduces) {
  for (const char* bad : {"m", "mzx", "mzxw6y"}) {  // 1, 3, 6 characters mod 8
    auto r = base32_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("invalid length"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zm9vY"));
  EXPECT_FALSE(base16_decode("666"));
}

TEST(Rfc4648, RejectsNonCanonicalTrailingBits) {
  // "Zg" and "my" are 'f'; these spell the same byte with padding bits set.
  for (const char* bad : {"Zh", "Zv"}) {
    auto r = base64_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("non-zero padding bits"), std::string::npos);
  }
  EXPECT_FALSE(base32_decode("mz"));
  EXPECT_FALSE(base64url_decode("Zm9"));
}

TEST(Rfc4648, RoundTripsRandomData) {
  std::mt19937 rng(4648);
  for (int i = 0; i < 300; ++i) {
    Bytes data(rng() % 70);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    EXPECT_EQ(base16_decode(base16_encode(data)).value(), data);
    EXPECT_EQ(base32_decode(base32_encode(data)).value(), data);
    EXPECT_EQ(base64_decode(base64_encode(data)).value(), data);
    EXPECT_EQ(base64url_decode(base64url_encode(data)).value(), data);
  }
}

}  // namespace
}  // namespace stargate
