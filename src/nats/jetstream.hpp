#pragma once
// JetStream on a connected nats::Client, as Asio coroutines on the client's executor: streams,
// publishing with the server's acknowledgement, stored messages, durable push consumers
// (push_consumer.hpp) and key-value buckets (kv_bucket.hpp). For nats.c 3.4 against nats-server
// 2.9 (docs/jetstream.md: what those versions offer and what they do not).
//
// Threading: nats.c's JetStream calls block until the server answers; they run one at a time on
// the client's JetStream worker thread while the coroutine waits on the executor, which goes on
// reading the socket (the answer comes that way) and running everything else. Each call is bounded
// by JetStreamOptions::timeout (or its own). The executor thread is never blocked. Consumers
// deliver on the executor, like Client subscriptions (no worker involved).
//
// Errors throw JetStreamError with one line naming the call, the stream or subject, and the
// server's answer or why none came. Bounds are checked before anything is sent: a message over the
// server's max_payload (headers included) fails at once with the sizes in the message.
//
// Await the calls directly (`co_await js->publish(subject, data)`): their arguments are
// references, read before the call first suspends.
#include "nats/client.hpp"
#include "nats/jetstream_types.hpp"
#include "nats/kv_bucket.hpp"
#include "nats/push_consumer.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::nats {

enum class DiscardPolicy {
  old_messages,  // a full stream drops its oldest messages
  new_messages,  // a full stream refuses new ones (the publisher gets an error)
};

struct StreamConfig {
  std::string name;                   // no '.', '*', '>' or spaces
  std::vector<std::string> subjects;  // what the stream captures (wildcards allowed)
  StorageType storage = StorageType::file;
  // Limits; 0 or -1: none. A message older than max_age is dropped: the only expiry 2.9 has (per
  // stream, not per message).
  std::chrono::milliseconds max_age{0};
  std::int64_t max_msgs = -1;
  std::int64_t max_bytes = -1;
  std::int64_t max_msgs_per_subject = -1;
  std::int32_t max_msg_size = -1;     // payload + headers, bytes
  // Publishes with a Nats-Msg-Id seen within this window are not stored again (PubAck::duplicate).
  std::chrono::milliseconds duplicate_window{120000};
  DiscardPolicy discard = DiscardPolicy::old_messages;
};

struct StreamInfo {
  std::string name;
  std::uint64_t messages = 0, bytes = 0;
  std::uint64_t first_sequence = 0, last_sequence = 0;
  std::int64_t consumers = 0;
};

// The server's acknowledgement of a published message.
struct PubAck {
  std::string stream;
  std::uint64_t sequence = 0;
  bool duplicate = false;  // the Nats-Msg-Id was seen within the window: nothing was stored
};

struct PublishOptions {
  std::string msg_id;       // Nats-Msg-Id: the stream stores one message per id within its window
  Headers headers;
  std::string expect_stream;  // fail unless this stream stores it
  std::chrono::milliseconds timeout{0};  // for the acknowledgement; 0: JetStreamOptions::timeout
};

struct JetStreamOptions {
  std::chrono::milliseconds timeout{5000};  // every request to the JetStream API
};

class JetStream : public std::enable_shared_from_this<JetStream> {
  struct Private {};

 public:
  // Checks that the broker offers JetStream (an account information request). Throws
  // JetStreamError "the broker at <url> has no JetStream: start nats-server with -js" when it does
  // not, or when the client is not connected.
  static boost::asio::awaitable<std::shared_ptr<JetStream>> open(std::shared_ptr<Client> client,
                                                                  JetStreamOptions options = {});
  JetStream(Private, std::shared_ptr<Client> client, JetStreamOptions options);

  // --- streams ---
  // Creates the stream, or updates it to `config` when it exists (what the server cannot change,
  // such as the storage type, fails with its reason).
  boost::asio::awaitable<StreamInfo> ensure_stream(const StreamConfig& config);
  // nullopt when there is no such stream.
  boost::asio::awaitable<std::optional<StreamInfo>> stream_info(std::string_view name);
  // False when there was no such stream.
  boost::asio::awaitable<bool> delete_stream(std::string_view name);

  // --- publishing ---
  // Publishes and waits for the stream's acknowledgement. Throws JetStreamError when no stream
  // captures the subject, when the stream refuses the message (limits, size), on timeout, and when
  // the connection drops before the acknowledgement: the message may then be stored or not, so
  // publish again with the same msg_id (within the window it is stored once).
  boost::asio::awaitable<PubAck> publish(std::string_view subject, BytesView data, const PublishOptions& options);
  boost::asio::awaitable<PubAck> publish(std::string_view subject, BytesView data);

  // --- stored messages ---
  // The last message stored on `subject` (no wildcards), or nullopt when there is none.
  boost::asio::awaitable<std::optional<StoredMessage>> last_message(std::string_view stream, std::string_view subject);
  // The message at `sequence`, or nullopt when there is none (never stored, deleted, aged out).
  boost::asio::awaitable<std::optional<StoredMessage>> message(std::string_view stream, std::uint64_t sequence);
  // False when there was no message at `sequence`.
  boost::asio::awaitable<bool> delete_message(std::string_view stream, std::uint64_t sequence);

  // --- consumers (push_consumer.hpp) ---
  // Creates the durable consumer, or binds to it when it exists (updating what may change, and its
  // deliver subject to a new inbox of this client), and delivers its messages to `handler`; the
  // handler may run before this returns. Throws JetStreamError when the stream does not exist,
  // when another subscriber is bound to the durable, or when it exists as a pull consumer or with
  // settings the server cannot update (its deliver policy or filter: delete it first).
  boost::asio::awaitable<PushConsumer> subscribe(std::string_view stream, const ConsumerConfig& config,
                                                 JsHandler handler);
  // nullopt when there is no such consumer.
  boost::asio::awaitable<std::optional<ConsumerInfo>> consumer_info(std::string_view stream, std::string_view durable);
  // False when there was no such consumer.
  boost::asio::awaitable<bool> delete_consumer(std::string_view stream, std::string_view durable);

  // --- key-value buckets (kv_bucket.hpp) ---
  // Creates the bucket, or binds to it when it exists with the same configuration, or updates it
  // (history, ttl, sizes; not the storage type).
  boost::asio::awaitable<std::shared_ptr<KvBucket>> key_value(const KvConfig& config);
  // False when there was no such bucket.
  boost::asio::awaitable<bool> delete_key_value(std::string_view bucket);

  const std::shared_ptr<Client>& client() const { return client_; }
  const JetStreamOptions& options() const { return options_; }

 private:
  std::shared_ptr<Client> client_;
  JetStreamOptions options_;
};

}  // namespace stargate::nats
