#include "base/base58.hpp"

#include <gtest/gtest.h>

#include <random>

#include "hex_helper.hpp"

namespace stargate {
namespace {

using test::hex;

TEST(Base58, EncodesPublishedVectors) {
  // draft-msporny-base58 test vectors.
  EXPECT_EQ(base58btc_encode(as_bytes("Hello World!")), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(base58btc_encode(as_bytes("The quick brown fox jumps over the lazy dog.")),
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z");
  EXPECT_EQ(base58btc_encode(hex("0000287fb4cd")), "11233QC4");
}

TEST(Base58, LeadingZeroBytesBecomeOnes) {
  EXPECT_EQ(base58btc_encode({}), "");
  EXPECT_EQ(base58btc_encode(hex("00")), "1");
  EXPECT_EQ(base58btc_encode(hex("000000")), "111");
  EXPECT_EQ(base58btc_encode(hex("0001")), "12");
  EXPECT_EQ(base58btc_decode("111").value(), hex("000000"));
  EXPECT_EQ(base58btc_decode("12").value(), hex("0001"));
  EXPECT_EQ(base58btc_decode("").value(), Bytes{});
}

TEST(Base58, DecodesPublishedVectors) {
  EXPECT_EQ(base58btc_decode("2NEpo7TZRRrLZSi2U").value(), to_bytes("Hello World!"));
  EXPECT_EQ(base58btc_decode("11233QC4").value(), hex("0000287fb4cd"));
  // A peer ID from the libp2p specs: sha2-256 multihash.
  EXPECT_EQ(to_hex(base58btc_decode("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value()),
            "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9");
}

TEST(Base58, ErrorNamesBadCharacterAndPosition) {
  // 0, O, I and l are left out of the alphabet because they look alike.
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"2NEp0", "base58: invalid character '0' at position 4"},
      {"O", "base58: invalid character 'O' at position 0"},
      {"11I", "base58: invalid character 'I' at position 2"},
      {"abl", "base58: invalid character 'l' at position 2"},
      {"ab+", "base58: invalid character '+' at position 2"},
      {"a\n", "base58: invalid character '\\x0a' at position 1"},
  };
  for (const auto& c : cases) {
    auto r = base58btc_decode(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().message, c.message);
  }
  auto with_nul = base58btc_decode(std::string_view("ab\0", 3));
  ASSERT_FALSE(with_nul);
  EXPECT_EQ(with_nul.error().message, "base58: invalid character '\\x00' at position 2");
}

TEST(Base58, BoundsInputLength) {
  const std::string at_limit(kMaxBase58DecodeChars, 'z');
  EXPECT_TRUE(base58btc_decode(at_limit));
  auto r = base58btc_decode(at_limit + "z");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too long"), std::string::npos) << r.error().message;
}

TEST(Base58, RoundTripsRandomData) {
  std::mt19937 rng(58);
  for (int i = 0; i < 300; ++i) {
    Bytes data(rng() % 80);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    // Some leading zeros too, the case that needs special handling.
    for (std::size_t z = 0; z < data.size() && z < static_cast<std::size_t>(i % 4); ++z) data[z] = 0;
    auto back = base58btc_decode(base58btc_encode(data));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, data);
  }
}

}  // namespace
}  // namespace stargate
