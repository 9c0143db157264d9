#pragma once
// Bytes read from and written to TCP sockets, shared by every TcpStream of one host. Plain
// integers, added to in each read and write completion: a host and its streams live on one
// single-threaded executor, which is also where they are read.
#include <cstdint>

namespace stargate::p2p {

struct ByteCounters {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

}  // namespace stargate::p2p
