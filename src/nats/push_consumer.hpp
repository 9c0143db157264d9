#pragma once
// A durable JetStream push consumer delivering on the client's executor (JetStream::subscribe).
//
// The server pushes the consumer's messages to a deliver subject (an inbox of this client), which
// is an ordinary subscription of the Client: read, parsed and handed to the handler on the
// executor as Client subscriptions are, restored on reconnection like them. Each message must be
// acknowledged explicitly (ack, nak, term, in_progress); one not acked within ack_wait is
// delivered again (num_delivered counts). The server keeps the durable consumer, and what was
// acked, after the subscriber goes away: stop() (or destruction) ends the delivery only, and a
// later subscribe() with the same durable resumes where it left off. delete_consumer() removes it.
//
// Flow control and idle heartbeats are on, as nats.c does for push consumers: the server pauses
// once a flow-control request is unanswered (answered here when the handler reached it, so a slow
// handler slows the server instead of overflowing the subscription), and sends a heartbeat when it
// has nothing to deliver. Two heartbeat periods without anything from the server, while connected,
// are logged and counted (missed_heartbeats): the consumer may have been deleted.
#include "nats/client.hpp"
#include "nats/jetstream_types.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace stargate::nats {

namespace detail {
struct ConsumerState;
struct ConsumerDelivery;
}  // namespace detail

enum class DeliverPolicy {
  all,       // from the first message the stream holds
  only_new,  // from the first message stored after the consumer was created
};

struct ConsumerConfig {
  std::string durable;         // the consumer's name on the server: no '.', '*', '>' or spaces
  std::string filter_subject;  // one subject, wildcards allowed (nats-server 2.9 takes one); empty: all
  DeliverPolicy deliver_policy = DeliverPolicy::all;
  std::chrono::milliseconds ack_wait{30000};  // not acked this long after delivery: delivered again
  std::int64_t max_ack_pending = 1000;        // delivered and not acked at most; then the server waits
  std::int64_t max_deliver = -1;              // deliveries of one message at most (-1: no bound)
  std::chrono::milliseconds idle_heartbeat{5000};  // >= 100 ms (the server's minimum)
};

// The server's view of a consumer (JetStream::consumer_info).
struct ConsumerInfo {
  std::string stream, name, deliver_subject;
  std::uint64_t delivered_stream_sequence = 0;  // the last message delivered
  std::uint64_t ack_floor_stream_sequence = 0;  // every message up to this one is acked
  std::int64_t num_ack_pending = 0;             // delivered and not acked yet
  std::int64_t num_redelivered = 0;
  std::uint64_t num_pending = 0;                // matching messages not delivered yet
  bool push_bound = false;                      // someone subscribes to the deliver subject
};

// A message delivered by a push consumer. The acknowledgements are messages to the server, sent as
// publish() sends (on the executor's next turn, buffered while reconnecting); the server does not
// confirm them, so one lost with the connection means a redelivery after ack_wait: make handling
// idempotent (the stream sequence identifies a message). Call them on the client's executor.
class JsMessage {
 public:
  std::string subject;
  Bytes data;
  Headers headers;
  std::string stream, consumer;
  std::uint64_t stream_sequence = 0;
  std::uint64_t consumer_sequence = 0;
  std::uint64_t num_delivered = 0;  // 1 the first time, one more at each redelivery
  std::uint64_t num_pending = 0;    // messages for the consumer still to deliver after this one
  std::chrono::system_clock::time_point time;  // when the stream stored it

  // Done: never delivered again. Throws ErrorException when the client is closed or gone.
  void ack() const;
  // Not done: delivered again after `delay` (at once for 0).
  void nak(std::chrono::milliseconds delay = std::chrono::milliseconds(0)) const;
  // Never delivered again, not done (a message that cannot be handled).
  void term() const;
  // Still working on it: ack_wait starts again.
  void in_progress() const;

 private:
  friend struct detail::ConsumerDelivery;
  void reply_with(std::string_view body) const;
  std::weak_ptr<Client> client_;
  std::string reply_;  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
};

// Invoked on the client's executor, one message at a time in the consumer's order.
using JsHandler = std::function<void(JsMessage)>;

// RAII: stops the delivery when destroyed or reset; the durable consumer stays on the server.
class PushConsumer {
 public:
  PushConsumer();
  PushConsumer(PushConsumer&& other) noexcept;
  PushConsumer& operator=(PushConsumer&& other) noexcept;
  PushConsumer(const PushConsumer&) = delete;
  PushConsumer& operator=(const PushConsumer&) = delete;
  ~PushConsumer();

  // On the executor: no message reaches the handler afterwards. The durable keeps its place.
  void stop();
  bool active() const;
  const std::string& stream() const;
  const std::string& durable() const;
  const std::string& deliver_subject() const;
  // Times two heartbeat periods passed, while connected, without anything from the server.
  std::uint64_t missed_heartbeats() const;
  // Flow-control requests of the server answered (the server pauses until one is).
  std::uint64_t flow_control_replies() const;
  // Messages nats.c dropped because the handler fell behind (they are redelivered after ack_wait).
  std::int64_t dropped() const;

 private:
  friend class JetStream;
  explicit PushConsumer(std::shared_ptr<detail::ConsumerState> state);
  std::shared_ptr<detail::ConsumerState> state_;
};

}  // namespace stargate::nats
