#pragma once
// One subscription's state (detail::SubShared), shared by the Subscription handle, the Client
// and the revival, which subscribes it again on a replacement connection; and subscribe_on(),
// the one way a subscription is made on a nats.c connection. Internal to src/nats.
#include "nats/client.hpp"
#include "nats/shared_state.hpp"

#include <nats/nats.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace stargate::nats::detail {

// A handler that sees nats.c's message itself (headers, status, the JetStream ack subject), on the
// executor; the message is freed after it returns. Internal: the JetStream push consumers use it.
using RawHandler = std::function<void(natsMsg*)>;

// One subscription's state, shared by the Subscription handle and the Client. nats.c queues the
// subscription's messages (a synchronous subscription, bounded by its pending limits) while it
// parses what it read on the executor; Shared::drain() takes them from there, on the executor too.
struct SubShared {
  std::shared_ptr<Shared> client;
  std::string subject;
  std::optional<std::string> queue_group;
  std::size_t max_msgs = 0, max_bytes = 0;

  std::mutex mutex;
  natsSubscription* sub = nullptr;  // owned; destroyed by unsubscribe()
  bool active = true;
  std::shared_ptr<const Client::Handler> handler;        // one of these three
  std::shared_ptr<const Client::RefHandler> ref_handler;
  std::shared_ptr<const RawHandler> raw_handler;

  void stop() {
    std::lock_guard lock(mutex);
    active = false;
  }

  // A message taken from nats.c's queue: owned (freed on destruction), or the status of a
  // request nobody answered.
  struct Received {
    natsMsg* msg = nullptr;
    bool no_responders = false;
    Received() = default;
    Received(const Received&) = delete;
    Received& operator=(const Received&) = delete;
    ~Received() { reset(); }
    void reset() {
      if (msg != nullptr) free_msg(std::exchange(msg, nullptr));
      no_responders = false;
    }
  };

  // Takes the next queued message into `out`; false when none (or unsubscribed, or stopped). The
  // lock keeps unsubscribe() from destroying `sub` meanwhile.
  bool next(Received& out);

  static void free_msg(natsMsg* msg);

  static void take(const Received& in, Message& out);

  // On the executor. Frees the message (`received`) before it returns.
  void run(Received& received);
};

// Subscribes `state` on `nc`: a synchronous subscription, whose queue Shared::drain() empties on
// the executor. Returns the status; the subscription in `out`.
natsStatus subscribe_on(natsConnection* nc, const std::shared_ptr<SubShared>& state, natsSubscription** out);

}  // namespace stargate::nats::detail
