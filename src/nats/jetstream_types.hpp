#pragma once
// Types shared by the JetStream layer's parts (jetstream.hpp, push_consumer.hpp, kv_bucket.hpp):
// message headers, a message as the stream stores it, and the error JetStream calls throw.
#include "base/bytes.hpp"
#include "base/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stargate::nats {

// NATS message headers in order; a name may appear more than once. Names are printable ASCII
// without ':' or spaces, values have no CR or LF (checked before publishing).
using Headers = std::vector<std::pair<std::string, std::string>>;

enum class StorageType { file, memory };

// A JetStream call that failed: the broker's answer or why none came, in one line naming the call.
class JetStreamError : public ErrorException {
 public:
  JetStreamError(const std::string& message, int code) : ErrorException(message), code_(code) {}
  // The server's JetStream error code (10071 wrong last sequence, 10059 stream not found, ...;
  // nats.c's jsErrCode), 0 when the failure was not the server's answer (timeout, sizes, ...).
  int code() const { return code_; }

 private:
  int code_;
};

// A message as a stream stores it (JetStream::last_message, JetStream::message).
struct StoredMessage {
  std::string subject;
  Bytes data;
  Headers headers;
  std::uint64_t sequence = 0;
  std::chrono::system_clock::time_point time;  // when the stream stored it
};

}  // namespace stargate::nats
