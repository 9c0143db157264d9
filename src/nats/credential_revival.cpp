// The credential revival: nats.c gives a connection up for good when a server refuses the same
// credentials twice in a row (a server that learnt a rotated credential before its file was
// rewritten); with max_reconnect = -1 the Client then starts a new connection and subscribes its
// live subscriptions on it. on_closed (connection_events.cpp) asks for it through
// Shared::on_given_up, on_revived reports a replacement that connected in the background. The
// traffic of the connections it replaced is kept here too, for Client::traffic().
#include "nats/client.hpp"

#include "nats/blocking_calls.hpp"
#include "nats/client_impl.hpp"
#include "nats/client_text.hpp"
#include "nats/shared_state.hpp"
#include "nats/subscription_state.hpp"

#include <nats/nats.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <memory>
#include <utility>

namespace stargate::nats {

using detail::complete;
using detail::error_text;
using detail::Pending;
using detail::SubShared;
using detail::subscribe_on;
using detail::wait;

namespace {

Traffic& operator+=(Traffic& total, const Traffic& more) {
  total.bytes_in += more.bytes_in;
  total.bytes_out += more.bytes_out;
  total.messages_in += more.messages_in;
  total.messages_out += more.messages_out;
  return total;
}

// One connection's statistics (zero if nats.c cannot give them).
Traffic traffic_of(natsConnection* nc) {
  Traffic out;
  natsStatistics* stats = nullptr;
  if (natsStatistics_Create(&stats) != NATS_OK) return out;
  if (natsConnection_GetStats(nc, stats) == NATS_OK) {
    std::uint64_t reconnects = 0;
    natsStatistics_GetCounts(stats, &out.messages_in, &out.bytes_in, &out.messages_out, &out.bytes_out, &reconnects);
  }
  natsStatistics_Destroy(stats);
  return out;
}

}  // namespace

void Client::schedule_revive() {
  if (is_closed() || impl_->revive_scheduled || impl_->reviving) return;
  impl_->revive_scheduled = true;
  impl_->revive_timer.expires_after(options_.reconnect_wait);
  impl_->revive_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->impl_->revive_scheduled = false;
    if (!ec) self->revive();
  });
}

// Replaces a connection nats.c gave up on: a new one (retrying in the background), the live
// subscriptions subscribed on it, the old one destroyed on the worker (after any flush using it).
void Client::revive() {
  if (is_closed() || impl_->reviving || impl_->revive_options == nullptr) return;
  impl_->reviving = true;
  auto pending = std::make_shared<Pending>(executor_);
  shared_->connection_started();
  impl_->worker.submit([pending, opts = impl_->revive_options, shared = shared_] {
    natsConnection* nc = nullptr;
    pending->status = natsConnection_Connect(&nc, opts);
    if (pending->status != NATS_OK && pending->status != NATS_NOT_YET_CONNECTED)
      pending->error = error_text(pending->status);
    if (nc == nullptr) shared->connection_ended();
    pending->connection = nc;
    complete(shared, pending, nc);
  });
  asio::co_spawn(executor_, [self = shared_from_this(), pending]() -> asio::awaitable<void> {
    co_await wait(pending);
    self->impl_->reviving = false;
    auto* nc = pending->connection;
    auto& shared = self->shared_;
    if (nc == nullptr) {
      shared->log->debug("NATS replacement connection failed: {}", pending->error);
      self->schedule_revive();
      co_return;
    }
    if (self->is_closed()) {
      natsConnection_Destroy(nc);
      co_return;
    }
    auto* old = shared->nc.exchange(nc);
    ++shared->replaced;
    if (old != nullptr) {
      self->impl_->retired += traffic_of(old);
      self->impl_->worker.submit([old] { natsConnection_Destroy(old); });
    }

    auto subscriptions = shared->live_subscriptions();
    for (auto& state : subscriptions) {
      {
        std::lock_guard lock(state->mutex);
        if (!state->active) continue;
      }
      natsSubscription* sub = nullptr;
      if (natsStatus status = subscribe_on(nc, state, &sub); status != NATS_OK) {
        // Closed again already (still refused): the next replacement subscribes it.
        auto level = status == NATS_CONNECTION_CLOSED ? spdlog::level::debug : spdlog::level::warn;
        shared->log->log(level, "NATS could not subscribe to {} again: {}", state->subject, error_text(status));
        continue;
      }
      natsSubscription* previous = nullptr;
      {
        std::lock_guard lock(state->mutex);
        if (state->active) {
          previous = std::exchange(state->sub, sub);
        } else {
          previous = sub;  // unsubscribed meanwhile
        }
      }
      if (previous != nullptr) natsSubscription_Destroy(previous);
    }

    if (natsConnection_IsClosed(nc)) {
      self->schedule_revive();  // given up before we adopted it: its closed callback saw no owner
    } else if (pending->status == NATS_OK) {
      shared->refresh_max_payload(nc);
      shared->consecutive_give_ups = 0;
      shared->log->info("NATS reconnected to {} (new connection)", shared->connected_url(nc));
      shared->report(ConnectionState::reconnected);
    }
  }, asio::detached);
}

std::uint64_t Client::connections_replaced() const { return shared_->replaced.load(); }

Traffic Client::traffic() const {
  Traffic total = impl_->retired;
  if (auto* nc = shared_->nc.load()) total += traffic_of(nc);
  return total;
}

}  // namespace stargate::nats
