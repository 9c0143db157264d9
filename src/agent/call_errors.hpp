#pragma once
// CallError (the public API's JSON-RPC error) from the codec's RpcError and codes, and the time a
// caller will still wait, as a request's deadline_ms.
#include "agent/jsonrpc.hpp"
#include "stargate/node.hpp"

#include <algorithm>
#include <chrono>

namespace stargate::agent {

inline CallError to_call_error(const RpcError& e) { return CallError(e.code, e.message, e.data); }

inline CallError call_error(ErrorCode code, std::string message) {
  return CallError(static_cast<int>(code), std::move(message));
}

// What is left until `deadline` at `now`, in ms, as a request's deadline_ms (at least 1).
inline std::int64_t remaining_ms(std::chrono::steady_clock::time_point deadline, std::chrono::steady_clock::time_point now) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
  return std::clamp<std::int64_t>(left, 1, kMaxDeadlineMs);
}

}  // namespace stargate::agent
