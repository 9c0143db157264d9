#include "base/quote.hpp"

#include <gtest/gtest.h>

namespace stargate {
namespace {

TEST(Quote, EscapesWhatCouldConfuseALogLine) {
  EXPECT_EQ(quote("abc"), "\"abc\"");
  EXPECT_EQ(quote("a\"b\\c'd"), "\"a\\x22b\\x5cc\\x27d\"");
  EXPECT_EQ(quote(std::string_view("a\0\n\x7f\xff", 5)), "\"a\\x00\\x0a\\x7f\\xff\"");
  EXPECT_EQ(quote_char('x'), "'x'");
  EXPECT_EQ(quote_char('\x01'), "'\\x01'");
}

TEST(Quote, TruncatesLongInput) {
  EXPECT_EQ(quote("abcdef", 3), "\"abc\"...");
  EXPECT_EQ(quote("abc", 3), "\"abc\"");
  EXPECT_EQ(quote(std::string(1000, 'x')).size(), 80u + 2 + 3);
}

}  // namespace
}  // namespace stargate
