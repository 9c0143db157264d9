// Client::publish: publishing with back-pressure. nats.c appends to a write buffer that the
// event-loop adapter writes on the executor's next turn; this bounds what waits there, so a
// server that stopped reading makes publish() fail instead of growing memory without end.
#include "nats/client.hpp"

#include "base/result.hpp"
#include "nats/client_text.hpp"
#include "nats/shared_state.hpp"

#include <climits>
#include <cstdint>
#include <string>

namespace stargate::nats {

using detail::error_text;

namespace {

// Bytes waiting in nats.c's write buffer beyond which publish() fails.
constexpr std::int64_t kMaxUnsentBytes = 64 * 1024 * 1024;

}  // namespace

void Client::publish(std::string_view subject, BytesView data, std::string_view reply) {
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS publish on " + std::string(subject) + ": not connected");
  if (data.size() > static_cast<std::size_t>(INT_MAX))
    throw ErrorException("NATS publish on " + std::string(subject) + ": payload too large");
  std::string subject_z(subject);
  const void* bytes = data.empty() ? nullptr : data.data();
  auto size = static_cast<int>(data.size());
  // nats.c appends to its write buffer, written on the executor's next turn: bounded here, since
  // a server that stopped reading would otherwise let it grow without end.
  if (std::int64_t{natsConnection_Buffered(nc)} + size > kMaxUnsentBytes) {
    natsConnection_ProcessWriteEvent(nc);  // hands the socket what it takes now
    if (auto unsent = natsConnection_Buffered(nc); std::int64_t{unsent} + size > kMaxUnsentBytes)
      throw ErrorException("NATS publish on " + subject_z + ": " + std::to_string(unsent) +
                           " bytes still wait to be sent (the server is not reading)");
  }
  natsStatus status;
  if (reply.empty()) {
    status = natsConnection_Publish(nc, subject_z.c_str(), bytes, size);
  } else {
    std::string reply_z(reply);
    status = natsConnection_PublishRequest(nc, subject_z.c_str(), reply_z.c_str(), bytes, size);
  }
  if (status != NATS_OK) {
    std::string text = status == NATS_MAX_PAYLOAD
                           ? std::to_string(data.size()) + " bytes exceed the server's max_payload of " +
                                 std::to_string(max_payload())
                           : error_text(status);
    throw ErrorException("NATS publish on " + subject_z + ": " + text);
  }
}

}  // namespace stargate::nats
