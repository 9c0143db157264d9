// Durable push consumers (see push_consumer.hpp): the consumer made or bound on the server, its
// messages delivered from an ordinary subscription on the executor, flow control answered, the
// heartbeats watched, and the acknowledgements.
#include "nats/push_consumer.hpp"

#include "base/log.hpp"
#include "nats/client_access.hpp"
#include "nats/jetstream.hpp"
#include "nats/jetstream_call.hpp"
#include "nats/jetstream_limits.hpp"
#include "nats/message_fields.hpp"

#include <nats/nats.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

namespace stargate::nats {

namespace asio = boost::asio;
using detail::call_off_executor;
using detail::ClientAccess;
using detail::js_context;
using detail::throw_js_error;

namespace detail {

using ConsumerClock = std::chrono::steady_clock;

// What the subscription's handler holds: the user's handler and what the heartbeat watch reads.
// On the executor only.
struct ConsumerDelivery {
  JsHandler handler;
  std::weak_ptr<Client> client;
  std::string name;  // "<stream>/<durable>", for logs
  ConsumerClock::time_point last_heard = ConsumerClock::now();
  std::uint64_t flow_control_replies = 0;

  void on_message(natsMsg* msg) {
    last_heard = ConsumerClock::now();
    const char* status = nullptr;
    // A status message (no payload, a status line): heartbeat or flow control, not for the handler.
    if (natsMsg_GetDataLength(msg) == 0 && natsMsgHeader_Get(msg, "Status", &status) == NATS_OK) {
      on_status(msg, status);
      return;
    }
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
      log::module<"nats">()->warn("JetStream consumer {}: a message on {} without JetStream metadata; dropped", name,
                                  natsMsg_GetSubject(msg));
      return;
    }
    JsMessage out;
    out.subject = natsMsg_GetSubject(msg);
    out.data = data_of(msg);
    out.headers = headers_of(msg);
    if (meta->Stream != nullptr) out.stream = meta->Stream;
    if (meta->Consumer != nullptr) out.consumer = meta->Consumer;
    out.stream_sequence = meta->Sequence.Stream;
    out.consumer_sequence = meta->Sequence.Consumer;
    out.num_delivered = meta->NumDelivered;
    out.num_pending = meta->NumPending;
    out.time = time_from_nanos(meta->Timestamp);
    jsMsgMetaData_Destroy(meta);
    out.client_ = client;
    out.reply_ = natsMsg_GetReply(msg);
    handler(std::move(out));
  }

  // "100 Idle Heartbeat" and "100 FlowControl Request", as nats.c answers them for its own push
  // subscriptions: a flow-control request (a reply subject) gets an empty message once every
  // message before it reached the handler, which is now; a heartbeat may name a flow-control reply
  // the server still waits for (Nats-Consumer-Stalled), answered the same way.
  void on_status(natsMsg* msg, const char* status) {
    if (std::strncmp(status, "100", 3) != 0) {
      const char* description = nullptr;
      natsMsgHeader_Get(msg, "Description", &description);
      log::module<"nats">()->warn("JetStream consumer {}: status {} {}", name, status,
                                  description != nullptr ? description : "");
      return;
    }
    const char* reply = natsMsg_GetReply(msg);
    const char* stalled = nullptr;
    if (reply == nullptr || *reply == '\0') {
      if (natsMsgHeader_Get(msg, "Nats-Consumer-Stalled", &stalled) != NATS_OK) return;
      reply = stalled;
    }
    auto owner = client.lock();
    if (!owner) return;
    try {
      owner->publish(reply, {});
      ++flow_control_replies;
    } catch (const std::exception& e) {
      log::module<"nats">()->debug("JetStream consumer {}: flow control reply: {}", name, e.what());
    }
  }
};

struct ConsumerState {
  explicit ConsumerState(const asio::any_io_executor& executor) : watch(executor) {}
  std::string stream, durable, deliver_subject;
  std::chrono::milliseconds idle_heartbeat{0};
  std::shared_ptr<ConsumerDelivery> delivery;
  Subscription subscription;
  asio::steady_timer watch;
  std::uint64_t missed = 0;
  bool silent = false;  // the watch found the server silent and has not heard from it since

  // Every heartbeat period: two of them without anything from the server, while connected, are a
  // missed heartbeat (logged once until the server is heard again).
  static void arm_watch(const std::shared_ptr<ConsumerState>& state) {
    state->watch.expires_after(state->idle_heartbeat);
    state->watch.async_wait([weak = std::weak_ptr<ConsumerState>(state)](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->subscription.active()) return;
      auto client = self->delivery->client.lock();
      auto now = ConsumerClock::now();
      if (!client || !client->is_connected()) {
        self->delivery->last_heard = now;  // heartbeats cannot come: not counted
      } else if (now - self->delivery->last_heard < 2 * self->idle_heartbeat) {
        self->silent = false;
      } else if (!self->silent) {
        self->silent = true;
        ++self->missed;
        auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(now - self->delivery->last_heard);
        log::module<"nats">()->warn(
            "JetStream consumer {}: no heartbeat for {} ms; the consumer may have been deleted on the server",
            self->delivery->name, quiet.count());
      }
      arm_watch(self);
    });
  }
};

namespace {

ConsumerInfo consumer_info_of(const jsConsumerInfo* ci) {
  ConsumerInfo out;
  if (ci->Stream != nullptr) out.stream = ci->Stream;
  if (ci->Name != nullptr) out.name = ci->Name;
  if (ci->Config != nullptr && ci->Config->DeliverSubject != nullptr) out.deliver_subject = ci->Config->DeliverSubject;
  out.delivered_stream_sequence = ci->Delivered.Stream;
  out.ack_floor_stream_sequence = ci->AckFloor.Stream;
  out.num_ack_pending = ci->NumAckPending;
  out.num_redelivered = ci->NumRedelivered;
  out.num_pending = ci->NumPending;
  out.push_bound = ci->PushBound;
  return out;
}

constexpr std::int64_t kConsumerNanosPerMilli = 1'000'000;

// Creates the durable with `deliver_subject`, or binds it there when it exists; false when another
// subscriber is bound to it. On the worker.
bool create_or_bind(jsCtx* js, const std::string& stream, const ConsumerConfig& config,
                    const std::string& deliver_subject, const std::string& what, std::chrono::milliseconds timeout) {
  jsConsumerInfo* existing = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetConsumerInfo(&existing, js, stream.c_str(), config.durable.c_str(), nullptr, &code);
  bool exists = status == NATS_OK;
  if (!exists && code != JSConsumerNotFoundErr) throw_js_error(what, status, code, timeout);
  if (exists) {
    bool pull = existing->Config == nullptr || existing->Config->DeliverSubject == nullptr;
    bool bound = existing->PushBound;
    jsConsumerInfo_Destroy(existing);
    if (pull) throw JetStreamError(what + ": the durable exists as a pull consumer", 0);
    if (bound) return false;
  }
  jsConsumerConfig c;
  jsConsumerConfig_Init(&c);
  c.Durable = config.durable.c_str();
  c.DeliverSubject = deliver_subject.c_str();
  if (!config.filter_subject.empty()) c.FilterSubject = config.filter_subject.c_str();
  c.DeliverPolicy = config.deliver_policy == DeliverPolicy::only_new ? js_DeliverNew : js_DeliverAll;
  c.AckPolicy = js_AckExplicit;
  c.AckWait = config.ack_wait.count() * kConsumerNanosPerMilli;
  c.MaxAckPending = config.max_ack_pending;
  c.MaxDeliver = config.max_deliver;
  c.FlowControl = true;
  c.Heartbeat = config.idle_heartbeat.count() * kConsumerNanosPerMilli;
  jsConsumerInfo* made = nullptr;
  code = static_cast<jsErrCode>(0);
  status = exists ? js_UpdateConsumer(&made, js, stream.c_str(), &c, nullptr, &code)
                  : js_AddConsumer(&made, js, stream.c_str(), &c, nullptr, &code);
  jsConsumerInfo_Destroy(made);
  if (status != NATS_OK) {
    throw_js_error(exists ? what + " (binding the existing durable; delete it to change what the server cannot update)"
                          : what,
                   status, code, timeout);
  }
  return true;
}

// A subscriber that just went away (stop(), a process that ended) still counts as bound until the
// server has seen its interest go, which it learns asynchronously: asked again until this passes.
constexpr std::chrono::milliseconds kBoundGrace{2000};
constexpr std::chrono::milliseconds kBoundRetry{100};

}  // namespace

}  // namespace detail

using detail::ConsumerState;

// --- JsMessage ---

void JsMessage::reply_with(std::string_view body) const {
  auto client = client_.lock();
  if (!client) throw ErrorException("JetStream ack on " + subject + ": the client is gone");
  client->publish(reply_, as_bytes(body));
}

void JsMessage::ack() const { reply_with("+ACK"); }

void JsMessage::nak(std::chrono::milliseconds delay) const {
  if (delay.count() <= 0) {
    reply_with("-NAK");
    return;
  }
  reply_with("-NAK {\"delay\":" + std::to_string(delay.count() * detail::kConsumerNanosPerMilli) + "}");
}

void JsMessage::term() const { reply_with("+TERM"); }

void JsMessage::in_progress() const { reply_with("+WPI"); }

// --- PushConsumer ---

PushConsumer::PushConsumer() = default;
PushConsumer::PushConsumer(std::shared_ptr<ConsumerState> state) : state_(std::move(state)) {}
PushConsumer::PushConsumer(PushConsumer&& other) noexcept = default;

PushConsumer& PushConsumer::operator=(PushConsumer&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

PushConsumer::~PushConsumer() { stop(); }

void PushConsumer::stop() {
  if (!state_) return;
  state_->subscription.unsubscribe();
  state_->watch.cancel();
  state_.reset();
}

bool PushConsumer::active() const { return state_ && state_->subscription.active(); }

namespace {
const std::string& empty_consumer_text() {
  static const std::string empty;
  return empty;
}
}  // namespace

const std::string& PushConsumer::stream() const { return state_ ? state_->stream : empty_consumer_text(); }
const std::string& PushConsumer::durable() const { return state_ ? state_->durable : empty_consumer_text(); }
const std::string& PushConsumer::deliver_subject() const {
  return state_ ? state_->deliver_subject : empty_consumer_text();
}
std::uint64_t PushConsumer::missed_heartbeats() const { return state_ ? state_->missed : 0; }
std::uint64_t PushConsumer::flow_control_replies() const {
  return state_ ? state_->delivery->flow_control_replies : 0;
}
std::int64_t PushConsumer::dropped() const { return state_ ? state_->subscription.dropped() : 0; }

// --- JetStream's consumer calls ---

asio::awaitable<PushConsumer> JetStream::subscribe(std::string_view stream_in, const ConsumerConfig& config_in,
                                                   JsHandler handler) {
  auto self = shared_from_this();
  auto state = std::make_shared<ConsumerState>(client_->executor());
  state->stream = std::string(stream_in);
  state->durable = config_in.durable;
  state->idle_heartbeat = config_in.idle_heartbeat;
  std::string what = "JetStream consumer " + state->stream + "/" + state->durable;
  detail::check_name(state->stream, "stream", what);
  detail::check_name(state->durable, "consumer", what);
  if (!config_in.filter_subject.empty()) detail::check_subject(config_in.filter_subject, what);
  if (config_in.idle_heartbeat < std::chrono::milliseconds(100))
    throw JetStreamError(what + ": idle_heartbeat under the server's minimum of 100 ms", 0);
  if (config_in.ack_wait.count() <= 0 || config_in.max_ack_pending < 1)
    throw JetStreamError(what + ": ack_wait and max_ack_pending must be positive", 0);

  // Subscribed first, so that nothing the server pushes once the consumer exists finds no one.
  state->delivery = std::make_shared<detail::ConsumerDelivery>();
  state->delivery->handler = std::move(handler);
  state->delivery->client = client_;
  state->delivery->name = state->stream + "/" + state->durable;
  state->deliver_subject = client_->new_inbox();
  state->subscription = ClientAccess::subscribe_raw(*client_, state->deliver_subject,
                                                    [delivery = state->delivery](natsMsg* msg) {
                                                      delivery->on_message(msg);
                                                    });
  // On failure, `state` unsubscribes as it goes.
  auto give_up = detail::ConsumerClock::now() + detail::kBoundGrace;
  asio::steady_timer retry(client_->executor());
  for (;;) {
    std::function<bool()> job = [context = js_context(*client_, options_.timeout, what), stream = state->stream,
                                 config = config_in, deliver = state->deliver_subject, what,
                                 timeout = options_.timeout] {
      return detail::create_or_bind(context->js, stream, config, deliver, what, timeout);
    };
    bool bound_here = co_await call_off_executor(*client_, std::move(job));
    if (bound_here) break;
    if (detail::ConsumerClock::now() >= give_up)
      throw JetStreamError(what + ": another subscriber is bound to the durable", 0);
    retry.expires_after(detail::kBoundRetry);
    co_await retry.async_wait(asio::use_awaitable);
  }
  ConsumerState::arm_watch(state);
  co_return PushConsumer(std::move(state));
}

asio::awaitable<std::optional<ConsumerInfo>> JetStream::consumer_info(std::string_view stream_in,
                                                                       std::string_view durable_in) {
  auto self = shared_from_this();
  std::string stream(stream_in), durable(durable_in);
  std::string what = "JetStream consumer " + stream + "/" + durable;
  std::function<std::optional<ConsumerInfo>()> job = [context = js_context(*client_, options_.timeout, what), stream,
                                                      durable, what, timeout = options_.timeout] {
    jsConsumerInfo* ci = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_GetConsumerInfo(&ci, context->js, stream.c_str(), durable.c_str(), nullptr, &code);
    if (status == NATS_NOT_FOUND && code == JSConsumerNotFoundErr) return std::optional<ConsumerInfo>();
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    std::optional<ConsumerInfo> info = detail::consumer_info_of(ci);
    jsConsumerInfo_Destroy(ci);
    return info;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<bool> JetStream::delete_consumer(std::string_view stream_in, std::string_view durable_in) {
  auto self = shared_from_this();
  std::string stream(stream_in), durable(durable_in);
  std::string what = "JetStream consumer " + stream + "/" + durable + " (delete)";
  std::function<bool()> job = [context = js_context(*client_, options_.timeout, what), stream, durable, what,
                               timeout = options_.timeout] {
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus status = js_DeleteConsumer(context->js, stream.c_str(), durable.c_str(), nullptr, &code);
    if (status == NATS_NOT_FOUND && code == JSConsumerNotFoundErr) return false;
    if (status != NATS_OK) throw_js_error(what, status, code, timeout);
    return true;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

}  // namespace stargate::nats
