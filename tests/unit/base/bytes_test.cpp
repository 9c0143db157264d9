#include "base/bytes.hpp"

#include <gtest/gtest.h>

namespace stargate {

TEST(Hex, RoundTrips) {
  Bytes b{0x00, 0x7f, 0xff, 0x10};
  EXPECT_EQ(to_hex(b), "007fff10");
  Bytes back;
  ASSERT_TRUE(from_hex("007FFF10", back));
  EXPECT_EQ(back, b);
}

TEST(Hex, RejectsBadInput) {
  Bytes out{1};
  EXPECT_FALSE(from_hex("abc", out));
  EXPECT_FALSE(from_hex("zz", out));
  EXPECT_EQ(out, Bytes{1});  // untouched on failure
}

}  // namespace stargate
