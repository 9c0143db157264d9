// nats.c's connection callbacks, on nats.c's threads (see connection_events.hpp).
#include "nats/connection_events.hpp"

#include "nats/client_text.hpp"
#include "nats/shared_state.hpp"
#include "nats/subscription_state.hpp"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace stargate::nats::detail {

void on_connected(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->log->info("NATS connected to {}", shared->connected_url(nc));
  shared->report(ConnectionState::connected);
}

void on_revived(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->consecutive_give_ups = 0;
  shared->log->info("NATS reconnected to {} (new connection)", shared->connected_url(nc));
  shared->report(ConnectionState::reconnected);
}

void on_disconnected(natsConnection*, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  bool closing;
  {
    std::lock_guard lock(shared->mutex);
    closing = shared->closing;
  }
  if (!closing) shared->log->warn("NATS disconnected from {}; reconnecting", shared->description);
  shared->report(ConnectionState::disconnected);
}

void on_reconnected(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->log->info("NATS reconnected to {}", shared->connected_url(nc));
  shared->report(ConnectionState::reconnected);
}

void on_closed(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  std::shared_ptr<Shared> hold;  // may free `shared` on return: nats.c makes no further call with it
  bool closing, current, revive;
  {
    std::lock_guard lock(shared->mutex);
    closing = shared->closing;
    hold = shared->connection_ended_locked();
    current = nc == shared->nc.load();
    revive = current && !closing && shared->revive_enabled;
  }
  if (!current) return;  // a replaced connection being disposed of, or one never adopted
  if (closing) {
    shared->report(ConnectionState::closed);
    return;
  }
  const char* text = nullptr;
  natsStatus status = natsConnection_GetLastError(nc, &text);
  std::string reason = text != nullptr && *text != '\0' ? text : natsStatus_GetText(status);
  if (!revive) {
    shared->log->error("NATS connection to {} closed: {}", shared->description, reason);
    shared->report(ConnectionState::closed);
    return;
  }
  // While a server keeps refusing, this repeats every few reconnect_waits: log the first and
  // then one in 20.
  int count = ++shared->consecutive_give_ups;
  auto level = count == 1 || count % 20 == 0 ? spdlog::level::warn : spdlog::level::debug;
  shared->log->log(level, "NATS gave up the connection to {} ({}; {} time(s) in a row); starting a new one",
                   shared->description, reason, count);
  shared->post([self = shared->shared_from_this()] {
    if (self->on_given_up) self->on_given_up();
  });
}

void on_error(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  if (err == NATS_SLOW_CONSUMER && sub != nullptr) {
    // At most one line a second per client, however often nats.c reports it.
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch()).count();
    auto last = shared->last_slow_consumer_log.load();
    if (now - last < 1'000'000'000 ||
        !shared->last_slow_consumer_log.compare_exchange_strong(last, now))
      return;
    // nats.c 3.4 does not retain `sub` for this callback: it may be freed by now, so it is only
    // compared with the subscriptions we still own (whose nats.c objects are then alive).
    std::string subject = "?";
    int64_t dropped = 0;
    auto subscriptions = shared->live_subscriptions();
    for (auto& state : subscriptions) {
      std::lock_guard lock(state->mutex);
      if (state->sub == sub) {
        subject = state->subject;
        natsSubscription_GetDropped(state->sub, &dropped);
        break;
      }
    }
    shared->log->warn("NATS slow consumer on {}: {} message(s) dropped so far", subject, dropped);
    return;
  }
  const char* text = nullptr;
  natsConnection_GetLastError(nc, &text);
  shared->log->warn("NATS error: {} ({})", natsStatus_GetText(err), text != nullptr ? text : "");
}

const char* on_token(void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  std::ifstream in(shared->token_file, std::ios::binary);
  if (!in) {
    shared->log->warn("NATS token file {} cannot be read", shared->token_file);
    shared->token.clear();
    return shared->token.c_str();
  }
  std::ostringstream content;
  content << in.rdbuf();
  shared->token = trim(content.str());
  return shared->token.c_str();
}

}  // namespace stargate::nats::detail
