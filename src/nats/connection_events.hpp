#pragma once
// nats.c's connection callbacks (connected, disconnected, reconnected, closed, errors, the token
// handler): what nats.c's threads report about a connection, turned into logs and state changes
// posted to the executor. options_builder.cpp registers them; the closure is the Shared.
// Internal to src/nats.
#include <nats/nats.h>

namespace stargate::nats::detail {

// --- nats.c callbacks (nats.c threads) ---

void on_connected(natsConnection* nc, void* closure);

// A replacement connection (after nats.c gave one up) that connected in the background.
void on_revived(natsConnection* nc, void* closure);

void on_disconnected(natsConnection* nc, void* closure);

void on_reconnected(natsConnection* nc, void* closure);

void on_closed(natsConnection* nc, void* closure);

void on_error(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure);

// Read at every (re)connect, on a nats.c thread; an unreadable file gives an empty token, which
// the server refuses (and nats.c tries again).
const char* on_token(void* closure);

}  // namespace stargate::nats::detail
