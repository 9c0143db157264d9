#pragma once
#include "base/bytes.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string_view>

namespace stargate::crypto::test {

inline Bytes hex(std::string_view h) {
  Bytes out;
  if (!from_hex(h, out)) throw std::invalid_argument("bad hex in test");
  return out;
}

template <class Array>
Array hex_array(std::string_view h) {
  Bytes b = hex(h);
  Array out{};
  if (b.size() != out.size()) throw std::invalid_argument("bad hex length in test");
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

}  // namespace stargate::crypto::test
