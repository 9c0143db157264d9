#pragma once
// Test helper: hex literal -> Bytes, failing the test on a typo in the literal.
#include <gtest/gtest.h>

#include <string_view>

#include "base/bytes.hpp"

namespace stargate::test {

inline Bytes hex(std::string_view text) {
  Bytes out;
  EXPECT_TRUE(from_hex(text, out)) << "bad hex literal in test: " << text;
  return out;
}

}  // namespace stargate::test
