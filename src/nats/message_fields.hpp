#pragma once
// Between nats.c's natsMsg and the JetStream layer's types: headers read out and written in, the
// payload copied out, a stored message as StoredMessage. Internal to src/nats.
#include "nats/jetstream_types.hpp"

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace stargate::nats::detail {

// Every header of `msg` (none for a message without). nats.c keeps them in a hash: values of one
// name stay in order, names come in no particular order. Reading lifts nats.c's parsed status
// line into the pseudo-headers "Status" and "Description".
Headers headers_of(natsMsg* msg);

Bytes data_of(natsMsg* msg);

// Throws JetStreamError("<what>: ...") when nats.c refuses one.
void add_headers(natsMsg* msg, const Headers& headers, const std::string& what);

// A message returned by the stream message API (js_GetMsg, js_GetLastMsg).
StoredMessage stored_message(natsMsg* msg);

// nats.c's times: nanoseconds since the epoch, UTC.
std::chrono::system_clock::time_point time_from_nanos(std::int64_t nanos);

}  // namespace stargate::nats::detail
