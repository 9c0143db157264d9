#pragma once
// How long an agent waits before its next announcement: the interval, up to 10% shorter at
// random. Early, never late, because announce_ttl only has to outlast the interval; at random
// because agents started together (a fleet restarted at once) would otherwise announce in step
// for ever.
#include <chrono>
#include <cstdint>
#include <random>

namespace stargate::agent {

template <class Random>
std::chrono::milliseconds next_announce_wait(std::chrono::milliseconds interval, Random& random) {
  const auto slack = std::uniform_int_distribution<std::int64_t>(0, interval.count() / 10)(random);
  return interval - std::chrono::milliseconds(slack);
}

}  // namespace stargate::agent
