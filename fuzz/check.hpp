#pragma once
// check(ok) for the fuzz targets: aborts, naming the target's file and line, when `ok` is false.
// The line matters: a target's tables may carry state from input to input, so a crash may not
// reproduce from its input alone.
#include <cstdio>
#include <cstdlib>

namespace stargate::fuzz {

inline void check_at(bool ok, const char* file, int line) {
  if (ok) return;
  std::fprintf(stderr, "%s: check at line %d failed\n", file, line);
  std::abort();
}

}  // namespace stargate::fuzz

#define check(ok) ::stargate::fuzz::check_at((ok), __FILE__, __LINE__)
