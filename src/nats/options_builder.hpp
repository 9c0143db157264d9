#pragma once
// ClientOptions -> natsOptions: every option nats.c is given, the event-loop adapter and the
// connection callbacks among them, in one place. Internal to src/nats.
#include "nats/client.hpp"
#include "nats/shared_state.hpp"

#include <nats/nats.h>

namespace stargate::nats::detail {

// nats.c options from ours. `replacement`: for connections that replace one nats.c gave up,
// which always retry in the background.
natsOptions* build_options(const ClientOptions& o, Shared* shared, bool replacement);

}  // namespace stargate::nats::detail
