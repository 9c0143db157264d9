#pragma once
// What the JetStream layer reaches inside a Client (detail::ClientAccess, a friend of Client and
// Subscription): the current nats.c connection, the worker for JetStream's blocking calls, and
// subscriptions whose handler sees nats.c's message itself (headers, status lines, the ack
// subject). It keeps client.hpp free of nats.c types. Internal to src/nats.
#include "nats/client.hpp"
#include "nats/client_impl.hpp"
#include "nats/shared_state.hpp"
#include "nats/subscription_state.hpp"

#include <memory>
#include <string>
#include <utility>

namespace stargate::nats::detail {

struct ClientAccess {
  static const std::shared_ptr<Shared>& shared(Client& client) { return client.shared_; }

  // The connection in use now (nullptr before connect()); replaced when the revival starts a new
  // one, so read it on the executor and retain it (a jsCtx does) before handing it to a thread.
  static natsConnection* connection(Client& client) { return client.shared_->nc.load(); }

  static Worker& jetstream_worker(Client& client) { return client.impl_->jetstream_worker; }

  // Like Client::subscribe, on the executor; restored on reconnection and on a replacement
  // connection like every subscription.
  static Subscription subscribe_raw(Client& client, const std::string& subject, RawHandler handler) {
    auto state = client.new_subscription(subject, nullptr);
    state->raw_handler = std::make_shared<const RawHandler>(std::move(handler));
    return client.subscribe_impl(std::move(state));
  }
};

}  // namespace stargate::nats::detail
