// natsMsg <-> the JetStream layer's types (see message_fields.hpp).
#include "nats/message_fields.hpp"

#include "nats/client_text.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace stargate::nats::detail {

namespace {

// nats.c allocates the arrays it returns from the header calls; the caller frees them.
struct FreedByCaller {
  void operator()(const void* p) const { std::free(const_cast<void*>(p)); }
};

}  // namespace

Headers headers_of(natsMsg* msg) {
  Headers out;
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) != NATS_OK) return out;  // NATS_NOT_FOUND: none
  std::unique_ptr<const char*, FreedByCaller> keys_owner(keys);
  for (int i = 0; i < count; ++i) {
    const char** values = nullptr;
    int value_count = 0;
    if (natsMsgHeader_Values(msg, keys[i], &values, &value_count) != NATS_OK) continue;
    std::unique_ptr<const char*, FreedByCaller> values_owner(values);
    for (int j = 0; j < value_count; ++j) out.emplace_back(keys[i], values[j] != nullptr ? values[j] : "");
  }
  return out;
}

Bytes data_of(natsMsg* msg) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
  int length = natsMsg_GetDataLength(msg);
  if (data == nullptr || length <= 0) return {};
  return Bytes(data, data + length);
}

void add_headers(natsMsg* msg, const Headers& headers, const std::string& what) {
  for (const auto& [name, value] : headers) {
    if (natsStatus status = natsMsgHeader_Add(msg, name.c_str(), value.c_str()); status != NATS_OK)
      throw JetStreamError(what + ": header " + name + ": " + error_text(status), 0);
  }
}

StoredMessage stored_message(natsMsg* msg) {
  StoredMessage out;
  if (const char* subject = natsMsg_GetSubject(msg)) out.subject = subject;
  out.data = data_of(msg);
  out.headers = headers_of(msg);
  out.sequence = natsMsg_GetSequence(msg);
  out.time = time_from_nanos(natsMsg_GetTime(msg));
  return out;
}

std::chrono::system_clock::time_point time_from_nanos(std::int64_t nanos) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanos)));
}

}  // namespace stargate::nats::detail
