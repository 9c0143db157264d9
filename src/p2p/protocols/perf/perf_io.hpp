#pragma once
// perf (/perf/1.0.0, libp2p/specs perf/perf.md): the client sends the number of bytes it wants
// back (u64, big-endian), then uploads until it half-closes; the server then sends that many bytes.
#include "p2p/host/host.hpp"

#include <cstdint>

namespace stargate::p2p::perf {

inline constexpr const char* protocol_id = "/perf/1.0.0";

struct Result {
  std::uint64_t uploaded = 0;
  std::uint64_t downloaded = 0;
  Clock::duration upload_time{};
  Clock::duration total_time{};
};

void enable(Host& host);
awaitable<Result> run(ByteStream& stream, std::uint64_t upload_bytes, std::uint64_t download_bytes);

}  // namespace stargate::p2p::perf
