// Subscriptions: the Subscription handle, Client::subscribe*, and the message path from nats.c's
// subscription queues to the handlers (Shared::drain(), which the event-loop adapter calls after
// each read). Apart from the connection's lifecycle because it is the per-message hot path.
#include "nats/subscription_state.hpp"

#include "base/result.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

// nats.c's own free function for a message, which natsMsg_Destroy hands to nats.c's garbage
// collector thread (waking it for nearly every message). Exported by libnats but not declared in
// its headers, so declared weak: when a libnats lacks it, natsMsg_Destroy is used instead.
extern "C" void natsMsg_free(void* msg) __attribute__((weak));

namespace stargate::nats {

namespace detail {

bool SubShared::next(Received& out) {
  out.reset();
  std::lock_guard lock(mutex);
  if (!active || sub == nullptr) return false;
  for (;;) {
    int queued = 0;
    // Checked first: NextMsg on an empty queue formats an error text (in nats.c's error stack).
    if (natsSubscription_GetPending(sub, &queued, nullptr) != NATS_OK || queued == 0) return false;
    natsMsg* msg = nullptr;
    natsStatus status = natsSubscription_NextMsg(&msg, sub, 0);
    if (status == NATS_OK) {
      out.msg = msg;
      return true;
    }
    if (status == NATS_NO_RESPONDERS) {
      // nats.c consumes the status message and keeps only this: its subject is lost.
      out.no_responders = true;
      return true;
    }
    // Reported once after nats.c dropped messages (also logged by on_error); the queue goes on.
    if (status != NATS_SLOW_CONSUMER) return false;
  }
}

// Freed here, on the executor: natsMsg_Destroy would wake nats.c's collector thread, a thread
// hand-off per message that costs the executor a futex wake-up and frees into its arena from
// another thread. A message of a plain subscription owns nothing else.
void SubShared::free_msg(natsMsg* msg) {
  if (natsMsg_free != nullptr)
    natsMsg_free(msg);
  else
    natsMsg_Destroy(msg);
}

void SubShared::take(const Received& in, Message& out) {
  out.no_responders = in.no_responders;
  if (in.msg == nullptr) return;
  natsMsg* msg = in.msg;
  out.subject = natsMsg_GetSubject(msg);
  const char* reply = natsMsg_GetReply(msg);
  out.reply = reply != nullptr ? reply : "";
  auto length = natsMsg_GetDataLength(msg);
  const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
  if (data != nullptr && length > 0) out.data.assign(data, data + length);
}

void SubShared::run(Received& received) {
  std::shared_ptr<const Client::Handler> current;
  std::shared_ptr<const Client::RefHandler> current_ref;
  std::shared_ptr<const RawHandler> current_raw;
  {
    std::lock_guard lock(mutex);
    if (active) {
      current = handler;
      current_ref = ref_handler;
      current_raw = raw_handler;
    }
  }
  try {
    if (current_raw) {
      if (received.msg != nullptr) (*current_raw)(received.msg);
    } else if (current_ref) {
      MessageRef ref;
      if (natsMsg* msg = received.msg) {
        ref.subject = natsMsg_GetSubject(msg);
        if (const char* reply = natsMsg_GetReply(msg)) ref.reply = reply;
        auto length = natsMsg_GetDataLength(msg);
        if (const char* data = natsMsg_GetData(msg); data != nullptr && length > 0)
          ref.data = BytesView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(length));
      } else {
        ref.subject = subject;
      }
      ref.no_responders = received.no_responders;
      (*current_ref)(ref);
    } else if (current) {
      Message message;
      if (received.msg == nullptr) message.subject = subject;
      take(received, message);
      received.reset();  // the payload is copied: free it before the handler runs
      (*current)(std::move(message));
    }
  } catch (const std::exception& e) {
    client->log->error("NATS handler for {} threw: {}", subject, e.what());
  }
  received.reset();
}

// At most this many messages of one subscription per turn of the executor: a flood on one subject
// neither starves the others nor keeps the socket from being read (nats.c then bounds the
// backlog with the pending limits and reports a slow consumer, as it would for a slow thread).
constexpr int kDrainBatch = 64;

std::vector<std::shared_ptr<SubShared>> Shared::live_subscriptions_locked() const {
  std::vector<std::shared_ptr<SubShared>> live;
  live.reserve(subscriptions.size());
  for (auto& weak : subscriptions)
    if (auto state = weak.lock()) live.push_back(std::move(state));
  return live;
}

void Shared::drain() {
  std::vector<std::shared_ptr<SubShared>> live;
  {
    std::lock_guard lock(mutex);
    if (detached) return;
    live = live_subscriptions_locked();
  }
  bool more = false;
  for (auto& state : live) {
    int budget = kDrainBatch;
    SubShared::Received message;
    while (state->next(message)) {
      state->run(message);
      if (--budget == 0) {
        more = true;
        break;
      }
    }
  }
  if (more && !drain_posted) {
    drain_posted = post([self = shared_from_this()] {
      self->drain_posted = false;
      self->drain();
    });
  }
}

natsStatus subscribe_on(natsConnection* nc, const std::shared_ptr<SubShared>& state, natsSubscription** out) {
  natsSubscription* sub = nullptr;
  natsStatus status = state->queue_group
                          ? natsConnection_QueueSubscribeSync(&sub, nc, state->subject.c_str(), state->queue_group->c_str())
                          : natsConnection_SubscribeSync(&sub, nc, state->subject.c_str());
  if (status != NATS_OK) return status;
  natsSubscription_SetPendingLimits(sub, static_cast<int>(state->max_msgs), static_cast<int>(state->max_bytes));
  *out = sub;
  return NATS_OK;
}

}  // namespace detail

using detail::error_text;
using detail::SubShared;
using detail::subscribe_on;

// --- Subscription ---

Subscription::Subscription(Subscription&& other) noexcept : state_(std::move(other.state_)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    state_ = std::move(other.state_);
  }
  return *this;
}

Subscription::~Subscription() { unsubscribe(); }

void Subscription::unsubscribe() {
  if (!state_) return;
  natsSubscription* sub = nullptr;
  std::shared_ptr<const Client::Handler> handler;  // destroyed here, on the caller's thread
  std::shared_ptr<const Client::RefHandler> ref_handler;
  std::shared_ptr<const detail::RawHandler> raw_handler;
  {
    std::lock_guard lock(state_->mutex);
    state_->active = false;
    sub = std::exchange(state_->sub, nullptr);
    handler = std::move(state_->handler);
    ref_handler = std::move(state_->ref_handler);
    raw_handler = std::move(state_->raw_handler);
  }
  // Sends UNSUB unless the connection is closed; messages still queued in nats.c are dropped.
  if (sub != nullptr) natsSubscription_Destroy(sub);
  state_.reset();
}

bool Subscription::active() const {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return state_->active;
}

const std::string& Subscription::subject() const {
  static const std::string empty;
  return state_ ? state_->subject : empty;
}

std::int64_t Subscription::dropped() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  std::int64_t dropped = 0;
  if (state_->sub != nullptr && natsSubscription_GetDropped(state_->sub, &dropped) != NATS_OK) return 0;
  return dropped;
}

Subscription Client::subscribe(const std::string& subject, Handler handler) {
  auto state = new_subscription(subject, nullptr);
  state->handler = std::make_shared<const Handler>(std::move(handler));
  return subscribe_impl(std::move(state));
}

Subscription Client::subscribe_ref(const std::string& subject, RefHandler handler) {
  auto state = new_subscription(subject, nullptr);
  state->ref_handler = std::make_shared<const RefHandler>(std::move(handler));
  return subscribe_impl(std::move(state));
}

Subscription Client::subscribe(const std::string& subject, const std::string& queue_group, Handler handler) {
  auto state = new_subscription(subject, &queue_group);
  state->handler = std::make_shared<const Handler>(std::move(handler));
  return subscribe_impl(std::move(state));
}

// A subscription's state before it has a handler (the caller sets one) and a nats.c subscription.
std::shared_ptr<SubShared> Client::new_subscription(const std::string& subject, const std::string* queue_group) {
  auto state = std::make_shared<SubShared>();
  state->client = shared_;
  state->subject = subject;
  if (queue_group != nullptr) state->queue_group = *queue_group;
  state->max_msgs = static_cast<std::size_t>(std::max(1, options_.pending_msgs_limit));
  state->max_bytes = static_cast<std::size_t>(std::max(1, options_.pending_bytes_limit));
  return state;
}

Subscription Client::subscribe_impl(std::shared_ptr<SubShared> state) {
  const std::string& subject = state->subject;
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS subscribe to " + subject + ": not connected");
  std::lock_guard lock(shared_->mutex);  // close() cannot run in between
  if (shared_->closing) throw ErrorException("NATS subscribe to " + subject + ": client closed");
  natsSubscription* sub = nullptr;
  natsStatus status = subscribe_on(nc, state, &sub);
  if (status == NATS_CONNECTION_CLOSED && shared_->revive_enabled) {
    // nats.c gave this connection up and its replacement is on the way: it will subscribe this.
    shared_->log->debug("NATS subscription to {} waits for the replacement connection", subject);
  } else if (status != NATS_OK) {
    throw ErrorException("NATS subscribe to " + subject + ": " + error_text(status));
  }
  {
    std::lock_guard sub_lock(state->mutex);
    state->sub = sub;
  }
  std::erase_if(shared_->subscriptions, [](const auto& weak) { return weak.expired(); });
  shared_->subscriptions.push_back(state);
  return Subscription(std::move(state));
}

}  // namespace stargate::nats
