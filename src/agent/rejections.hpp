#pragma once
// Inputs refused, by reason (a bounded label: announcement_bad_signature, chunk_refused, forbidden,
// …), counted by every part that refuses something and shown once in the status and metrics.
#include <cstdint>
#include <map>
#include <string>

namespace stargate::agent {

struct Rejections {
  std::uint64_t total = 0;
  std::map<std::string, std::uint64_t> by_reason;

  void count(const std::string& reason) {
    ++total;
    ++by_reason[reason];
  }
};

}  // namespace stargate::agent
