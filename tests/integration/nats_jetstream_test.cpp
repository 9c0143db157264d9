// nats::JetStream against a real nats-server 2.9 with JetStream (`-js`, storing in the test's
// temporary folder, kept across restart()): streams, publishing with the server's acknowledgement
// and deduplication, durable push consumers (order, acks, redelivery, nak, term, in-progress,
// resuming after the subscriber or the server went away), stored messages, key-value buckets, the
// bounds checked before sending, a broker without JetStream, and the executor left free while a
// call waits for the server. Every wait is on an event, with a deadline.
#include "nats/jetstream.hpp"

#include "base/result.hpp"
#include "nats_server.hpp"
#include "nats_test_support.hpp"
#include "host_test_support.hpp"
#include "test_support.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <set>
#include <thread>

namespace stargate::nats {
namespace {

using namespace stargate::nats::test;

using namespace std::chrono_literals;
using stargate::testing::NatsServer;
using stargate::testing::NatsServerOptions;
using stargate::testing::run_with_timeout;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using JsMessages = Mailbox<JsMessage>;

NatsServer start_jetstream_server(const std::string& config = {}) {
  NatsServerOptions options;
  options.jetstream = true;
  options.config = config;
  return NatsServer::start(options);
}

std::shared_ptr<Client> js_client(asio::io_context& io, const NatsServer& server) {
  ClientOptions options;
  options.urls = {server.url()};
  options.reconnect_wait = 100ms;
  return Client::create(io.get_executor(), options);
}

StreamConfig tasks_stream() {
  StreamConfig config;
  config.name = "TASKS";
  config.subjects = {"tasks.>"};
  config.storage = StorageType::file;
  config.max_age = 1h;
  config.max_msgs_per_subject = 1000;
  config.max_msg_size = 256 * 1024;
  config.duplicate_window = 10s;
  config.discard = DiscardPolicy::new_messages;
  return config;
}

// Connects the client, opens its JetStream and puts the tasks stream in place.
asio::awaitable<std::shared_ptr<JetStream>> open_tasks(std::shared_ptr<Client> client) {
  co_await client->connect();
  auto js = co_await JetStream::open(client);
  auto config = tasks_stream();
  co_await js->ensure_stream(config);
  co_return js;
}

ConsumerConfig durable_for(const std::string& agent, std::chrono::milliseconds ack_wait) {
  ConsumerConfig config;
  config.durable = agent;
  config.filter_subject = "tasks." + agent;
  config.ack_wait = ack_wait;
  config.idle_heartbeat = 500ms;
  return config;
}

JsHandler collect_js(const std::shared_ptr<JsMessages>& box) {
  return [box](JsMessage m) { box->push(std::move(m)); };
}

std::string text_of_js(const JsMessage& m) { return std::string(as_string(m.data)); }

// Asks the server about the consumer until `done` holds; false when `timeout` passes first.
asio::awaitable<bool> consumer_reaches(std::shared_ptr<JetStream> js, std::string_view stream,
                                       std::string_view durable, std::function<bool(const ConsumerInfo&)> done,
                                       std::chrono::milliseconds timeout = 10s) {
  asio::steady_timer timer(js->client()->executor());
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto info = co_await js->consumer_info(stream, durable);
    if (info && done(*info)) co_return true;
    if (Clock::now() >= deadline) co_return false;
    timer.expires_after(20ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

TEST(NatsJetStream, PublishAndDurablePushConsumerDeliverInOrderWithAcks) {
  auto server = start_jetstream_server();
  asio::io_context io;
  auto io_thread = std::this_thread::get_id();
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    co_await client->connect();
    auto js = co_await JetStream::open(client);
    auto config = tasks_stream();
    auto info = co_await js->ensure_stream(config);
    EXPECT_EQ(info.name, "TASKS");
    EXPECT_EQ(info.messages, 0u);
    auto again = co_await js->ensure_stream(config);  // idempotent
    EXPECT_EQ(again.name, "TASKS");

    for (int i = 1; i <= 5; ++i) {
      PublishOptions options;
      options.msg_id = "task-" + std::to_string(i);
      options.headers = {{"Stargate-Kind", "task"}, {"Stargate-From", "caller"}};
      std::string payload = "task-" + std::to_string(i);
      auto ack = co_await js->publish("tasks.agent1", as_bytes(payload), options);
      EXPECT_EQ(ack.stream, "TASKS");
      EXPECT_EQ(ack.sequence, static_cast<std::uint64_t>(i));
      EXPECT_FALSE(ack.duplicate);
    }

    auto box = std::make_shared<JsMessages>(io.get_executor());
    auto threads = std::make_shared<std::set<std::thread::id>>();
    JsHandler handler = [box, threads](JsMessage m) {
      threads->insert(std::this_thread::get_id());
      box->push(std::move(m));
    };
    auto consumer_config = durable_for("agent1", 1s);
    auto consumer = co_await js->subscribe("TASKS", consumer_config, std::move(handler));
    EXPECT_TRUE(consumer.active());
    EXPECT_EQ(consumer.durable(), "agent1");
    for (int i = 1; i <= 3; ++i) {
      auto m = co_await box->pop();
      CO_ASSERT_TRUE(m.has_value());
      EXPECT_EQ(text_of_js(*m), "task-" + std::to_string(i));
      EXPECT_EQ(m->subject, "tasks.agent1");
      EXPECT_EQ(m->stream, "TASKS");
      EXPECT_EQ(m->consumer, "agent1");
      EXPECT_EQ(m->stream_sequence, static_cast<std::uint64_t>(i));
      EXPECT_EQ(m->num_delivered, 1u);
      auto kind = std::find(m->headers.begin(), m->headers.end(),
                            std::pair<std::string, std::string>("Stargate-Kind", "task"));
      EXPECT_NE(kind, m->headers.end());
      m->ack();
    }
    EXPECT_EQ(*threads, std::set<std::thread::id>{io_thread});
    std::function<bool(const ConsumerInfo&)> three_acked = [](const ConsumerInfo& c) {
      return c.ack_floor_stream_sequence >= 3;
    };
    bool acked = co_await consumer_reaches(js, "TASKS", "agent1", three_acked);
    EXPECT_TRUE(acked);

    // The subscriber goes away; the durable keeps its place: a new subscription gets 4 and 5 (again,
    // once their ack_wait passed, if the first one had them already), never 1 to 3.
    consumer.stop();
    EXPECT_FALSE(consumer.active());
    auto box2 = std::make_shared<JsMessages>(io.get_executor());
    JsHandler handler2 = collect_js(box2);
    auto resumed = co_await js->subscribe("TASKS", consumer_config, std::move(handler2));
    std::set<std::uint64_t> seen;
    while (seen.size() < 2) {
      auto m = co_await box2->pop(10s);
      CO_ASSERT_TRUE(m.has_value());
      EXPECT_GE(m->stream_sequence, 4u);
      seen.insert(m->stream_sequence);
      m->ack();
    }

    // One subscriber per durable: a second one is refused (once the server's grace has passed).
    std::string bound_error;
    try {
      JsHandler intruder = collect_js(box);
      co_await js->subscribe("TASKS", consumer_config, std::move(intruder));
    } catch (const JetStreamError& e) {
      bound_error = e.what();
    }
    EXPECT_NE(bound_error.find("JetStream consumer TASKS/agent1: another subscriber is bound to the durable"),
              std::string::npos)
        << bound_error;

    // The filter: another agent's task is not delivered here; this agent's next one is.
    co_await js->publish("tasks.agent2", as_bytes("for agent2"));
    auto sixth = co_await js->publish("tasks.agent1", as_bytes("task-6"));
    auto m6 = co_await box2->pop();
    CO_ASSERT_TRUE(m6.has_value());
    EXPECT_EQ(m6->stream_sequence, sixth.sequence);
    m6->ack();

    // Stored messages: the last on a subject, one by sequence, deleted.
    auto last = co_await js->last_message("TASKS", "tasks.agent1");
    CO_ASSERT_TRUE(last.has_value());
    EXPECT_EQ(std::string(as_string(last->data)), "task-6");
    EXPECT_EQ(last->sequence, sixth.sequence);
    auto none = co_await js->last_message("TASKS", "tasks.nobody");
    EXPECT_FALSE(none.has_value());
    auto first = co_await js->message("TASKS", 1);
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(std::string(as_string(first->data)), "task-1");
    EXPECT_EQ(first->subject, "tasks.agent1");
    auto from = std::find(first->headers.begin(), first->headers.end(),
                          std::pair<std::string, std::string>("Stargate-From", "caller"));
    EXPECT_NE(from, first->headers.end());
    bool deleted = co_await js->delete_message("TASKS", 1);
    EXPECT_TRUE(deleted);
    auto gone = co_await js->message("TASKS", 1);
    EXPECT_FALSE(gone.has_value());
    bool deleted_again = co_await js->delete_message("TASKS", 1);
    EXPECT_FALSE(deleted_again);
    auto stream = co_await js->stream_info("TASKS");
    CO_ASSERT_TRUE(stream.has_value());
    EXPECT_EQ(stream->messages, 6u);  // 7 published, 1 deleted
    EXPECT_EQ(stream->last_sequence, 7u);

    resumed.stop();
    bool consumer_deleted = co_await js->delete_consumer("TASKS", "agent1");
    EXPECT_TRUE(consumer_deleted);
    auto no_consumer = co_await js->consumer_info("TASKS", "agent1");
    EXPECT_FALSE(no_consumer.has_value());
    bool consumer_deleted_again = co_await js->delete_consumer("TASKS", "agent1");
    EXPECT_FALSE(consumer_deleted_again);
    bool stream_deleted = co_await js->delete_stream("TASKS");
    EXPECT_TRUE(stream_deleted);
    auto no_stream = co_await js->stream_info("TASKS");
    EXPECT_FALSE(no_stream.has_value());
  }, 60s);
}

TEST(NatsJetStream, MessageNotAckedIsRedeliveredAfterAckWait) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto js = co_await open_tasks(client);
    co_await js->publish("tasks.agent1", as_bytes("unacked"));
    auto box = std::make_shared<JsMessages>(io.get_executor());
    JsHandler handler = collect_js(box);
    auto consumer_config = durable_for("agent1", 500ms);
    auto subscribed_at = Clock::now();  // the server delivers after this, and again ack_wait later
    auto consumer = co_await js->subscribe("TASKS", consumer_config, std::move(handler));
    auto first = co_await box->pop();
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->num_delivered, 1u);
    // Not acked: the server sends it again once ack_wait has passed.
    auto second = co_await box->pop(10s);
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->stream_sequence, first->stream_sequence);
    EXPECT_EQ(second->num_delivered, 2u);
    EXPECT_GE(Clock::now() - subscribed_at, 500ms);
    second->ack();
    std::function<bool(const ConsumerInfo&)> nothing_pending = [](const ConsumerInfo& c) {
      return c.num_ack_pending == 0 && c.num_redelivered == 0;
    };
    bool settled = co_await consumer_reaches(js, "TASKS", "agent1", nothing_pending);
    EXPECT_TRUE(settled);
  }, 60s);
}

// One message in flight at a time (max_ack_pending 1), so each acknowledgement decides what comes
// next: a nak brings the same message back, a term lets the next one through for good, and
// in_progress keeps a message from being redelivered past its ack_wait.
TEST(NatsJetStream, NakTermAndInProgressBehave) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto js = co_await open_tasks(client);
    for (const char* text : {"A", "B", "C"}) co_await js->publish("tasks.agent1", as_bytes(text));
    auto box = std::make_shared<JsMessages>(io.get_executor());
    JsHandler handler = collect_js(box);
    auto consumer_config = durable_for("agent1", 2s);
    consumer_config.max_ack_pending = 1;
    auto consumer = co_await js->subscribe("TASKS", consumer_config, std::move(handler));

    auto a = co_await box->pop();
    CO_ASSERT_TRUE(a.has_value());
    EXPECT_EQ(text_of_js(*a), "A");
    a->nak();  // at once: A again, well before its ack_wait
    auto a_again = co_await box->pop(1800ms);
    CO_ASSERT_TRUE(a_again.has_value());
    EXPECT_EQ(text_of_js(*a_again), "A");
    EXPECT_EQ(a_again->num_delivered, 2u);
    a_again->ack();

    auto b = co_await box->pop();
    CO_ASSERT_TRUE(b.has_value());
    EXPECT_EQ(text_of_js(*b), "B");
    b->term();

    auto c = co_await box->pop();
    CO_ASSERT_TRUE(c.has_value());
    EXPECT_EQ(text_of_js(*c), "C");
    // 2.5 s of work on C, reported every 250 ms: never redelivered, though ack_wait is 2 s; and B,
    // terminated, does not come back in that time either (its ack_wait passed too).
    for (int i = 0; i < 10; ++i) {
      c->in_progress();
      auto unexpected = co_await box->pop(250ms);
      EXPECT_FALSE(unexpected.has_value()) << "delivered while C was in progress: " << text_of_js(*unexpected);
    }
    c->ack();

    // A nak with a delay: the message comes back after it.
    co_await js->publish("tasks.agent1", as_bytes("D"));
    auto d = co_await box->pop();
    CO_ASSERT_TRUE(d.has_value());
    EXPECT_EQ(text_of_js(*d), "D");
    EXPECT_EQ(d->num_delivered, 1u);
    auto nak_at = Clock::now();
    d->nak(400ms);
    auto d_again = co_await box->pop(5s);
    CO_ASSERT_TRUE(d_again.has_value());
    EXPECT_EQ(text_of_js(*d_again), "D");
    EXPECT_EQ(d_again->num_delivered, 2u);
    EXPECT_GE(Clock::now() - nak_at, 400ms);
    d_again->ack();
    std::function<bool(const ConsumerInfo&)> all_done = [](const ConsumerInfo& info) {
      return info.num_ack_pending == 0 && info.num_pending == 0 && info.ack_floor_stream_sequence == 4;
    };
    bool done = co_await consumer_reaches(js, "TASKS", "agent1", all_done);
    EXPECT_TRUE(done);
  }, 60s);
}

// A backlog larger than what the server pushes before it asks for flow control: it flows only if
// the requests are answered. Then, idle, the server's heartbeats keep the watch quiet; once the
// consumer is deleted under the subscriber, they stop and the watch counts a missed heartbeat.
TEST(NatsJetStream, FlowControlAndHeartbeatsOfAPushConsumer) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto js = co_await open_tasks(client);
    constexpr int kBacklog = 300;
    Bytes payload(128 * 1024, 'p');
    for (int i = 0; i < kBacklog; ++i) co_await js->publish("tasks.agent1", payload);

    auto received = std::make_shared<int>(0);
    JsHandler handler = [received](JsMessage m) {
      m.ack();
      ++*received;
    };
    auto consumer_config = durable_for("agent1", 30s);
    consumer_config.max_ack_pending = 10000;
    consumer_config.idle_heartbeat = 200ms;
    auto consumer = co_await js->subscribe("TASKS", consumer_config, std::move(handler));
    std::function<bool()> all_received = [received] { return *received == kBacklog; };
    bool flowed = co_await stargate::testing::wait_until(all_received, 30s);
    CO_ASSERT_TRUE(flowed);
    EXPECT_GT(consumer.flow_control_replies(), 0u);

    // Idle for five heartbeat periods: heard from all along.
    asio::steady_timer idle(io, 1s);
    co_await idle.async_wait(asio::use_awaitable);
    EXPECT_EQ(consumer.missed_heartbeats(), 0u);

    bool deleted = co_await js->delete_consumer("TASKS", "agent1");
    EXPECT_TRUE(deleted);
    std::function<bool()> missed = [&consumer] { return consumer.missed_heartbeats() > 0; };
    bool noticed = co_await stargate::testing::wait_until(missed, 10s);
    EXPECT_TRUE(noticed);
  }, 90s);
}

TEST(NatsJetStream, DuplicateMsgIdWithinTheWindowIsFlaggedAndNotStoredTwice) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto js = co_await open_tasks(client);
    PublishOptions once;
    once.msg_id = "call-7f3a";
    auto first = co_await js->publish("tasks.agent1", as_bytes("first"), once);
    auto second = co_await js->publish("tasks.agent1", as_bytes("retry"), once);
    EXPECT_FALSE(first.duplicate);
    EXPECT_TRUE(second.duplicate);
    EXPECT_EQ(second.sequence, first.sequence);
    PublishOptions other;
    other.msg_id = "call-7f3b";
    auto third = co_await js->publish("tasks.agent1", as_bytes("other"), other);
    EXPECT_FALSE(third.duplicate);
    EXPECT_EQ(third.sequence, first.sequence + 1);
    auto info = co_await js->stream_info("TASKS");
    CO_ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->messages, 2u);
    auto stored = co_await js->message("TASKS", first.sequence);
    CO_ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(std::string(as_string(stored->data)), "first");
  }, 60s);
}

// The broker restarted while tasks are queued: none is lost. The store survives (file storage in
// a folder restart() keeps), the client reconnects and subscribes its deliver subject again, and
// the durable consumer resumes: what was acked stays acked, what was delivered and not acked comes
// again, what was published after the restart follows.
TEST(NatsJetStream, RestartedServerKeepsTheStreamAndTheDurableResumesWithoutLoss) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto states = watch_states(client);
    auto js = co_await open_tasks(client);
    for (int i = 1; i <= 3; ++i) {
      std::string payload = "queued-" + std::to_string(i);
      co_await js->publish("tasks.agent1", as_bytes(payload));
    }
    auto box = std::make_shared<JsMessages>(io.get_executor());
    JsHandler handler = collect_js(box);
    auto consumer_config = durable_for("agent1", 2s);
    auto consumer = co_await js->subscribe("TASKS", consumer_config, std::move(handler));
    for (int i = 1; i <= 3; ++i) {
      auto m = co_await box->pop();
      CO_ASSERT_TRUE(m.has_value());
      if (m->stream_sequence == 1) m->ack();  // 2 and 3 are in flight when the broker goes
    }
    std::function<bool(const ConsumerInfo&)> one_acked = [](const ConsumerInfo& c) {
      return c.ack_floor_stream_sequence == 1 && c.num_ack_pending == 2;
    };
    bool ready = co_await consumer_reaches(js, "TASKS", "agent1", one_acked);
    CO_ASSERT_TRUE(ready);

    server.restart();
    co_await states->expect(ConnectionState::disconnected);
    co_await states->expect(ConnectionState::reconnected);
    for (int i = 4; i <= 5; ++i) {
      std::string payload = "queued-" + std::to_string(i);
      co_await js->publish("tasks.agent1", as_bytes(payload));
    }
    std::set<std::uint64_t> seen;
    while (seen.size() < 4) {
      auto m = co_await box->pop(20s);
      CO_ASSERT_TRUE(m.has_value());
      EXPECT_NE(m->stream_sequence, 1u) << "an acked message came again";
      EXPECT_EQ(text_of_js(*m), "queued-" + std::to_string(m->stream_sequence));
      seen.insert(m->stream_sequence);
      m->ack();
    }
    EXPECT_EQ(seen, (std::set<std::uint64_t>{2, 3, 4, 5}));
    std::function<bool(const ConsumerInfo&)> all_acked = [](const ConsumerInfo& c) {
      return c.ack_floor_stream_sequence == 5 && c.num_ack_pending == 0;
    };
    bool settled = co_await consumer_reaches(js, "TASKS", "agent1", all_acked);
    EXPECT_TRUE(settled);
    auto info = co_await js->stream_info("TASKS");
    CO_ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->messages, 5u);
  }, 90s);
}

TEST(NatsJetStream, BrokerWithoutJetStreamGivesAClearError) {
  auto server = NatsServer::start();  // no -js
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    co_await client->connect();
    std::string error;
    try {
      co_await JetStream::open(client);
    } catch (const JetStreamError& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("the broker at " + server.url() + " has no JetStream"), std::string::npos) << error;
    EXPECT_NE(error.find("start nats-server with -js"), std::string::npos) << error;
  }, 30s);
}

TEST(NatsJetStream, KeyValuePutGetCreateDelete) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    co_await client->connect();
    auto js = co_await JetStream::open(client);
    KvConfig config;
    config.bucket = "announcements";
    config.history = 1;
    config.ttl = 1h;
    config.max_value_size = 4096;
    auto bucket = co_await js->key_value(config);
    const std::string key = "0123456789abcdef0123456789abcdef";  // an agent ID

    auto missing = co_await bucket->get(key);
    EXPECT_FALSE(missing.has_value());
    auto first = co_await bucket->put(key, as_bytes("announcement v1"));
    EXPECT_GT(first, 0u);
    auto got = co_await bucket->get(key);
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(std::string(as_string(got->value)), "announcement v1");
    EXPECT_EQ(got->revision, first);

    std::string exists_error;
    int exists_code = 0;
    try {
      co_await bucket->create(key, as_bytes("someone else's"));
    } catch (const KvKeyExists& e) {
      exists_error = e.what();
      exists_code = e.code();
    }
    EXPECT_NE(exists_error.find("the key exists"), std::string::npos) << exists_error;
    EXPECT_EQ(exists_code, 10071);
    auto second = co_await bucket->put(key, as_bytes("announcement v2"));
    EXPECT_GT(second, first);
    auto latest = co_await bucket->get(key);
    CO_ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(std::string(as_string(latest->value)), "announcement v2");

    co_await bucket->remove(key);
    auto removed = co_await bucket->get(key);
    EXPECT_FALSE(removed.has_value());
    auto recreated = co_await bucket->create(key, as_bytes("announcement v3"));  // absent again
    EXPECT_GT(recreated, second);
    const std::string other_key = "fedcba9876543210fedcba9876543210";
    auto created = co_await bucket->create(other_key, as_bytes("fresh"));
    EXPECT_GT(created, recreated);

    // Bounds, before anything is sent.
    Bytes too_big(4097, 'x');
    auto sent_before = client->traffic().messages_out;
    std::string size_error;
    try {
      co_await bucket->put(key, too_big);
    } catch (const JetStreamError& e) {
      size_error = e.what();
    }
    EXPECT_NE(size_error.find("exceed the bucket's max_value_size of 4096"), std::string::npos) << size_error;
    EXPECT_EQ(client->traffic().messages_out, sent_before);

    // Bound again with the same configuration, then with another TTL (the bucket is updated).
    auto bound = co_await js->key_value(config);
    auto still = co_await bound->get(key);
    CO_ASSERT_TRUE(still.has_value());
    EXPECT_EQ(std::string(as_string(still->value)), "announcement v3");
    config.ttl = 2h;
    auto updated = co_await js->key_value(config);
    auto after_update = co_await updated->get(other_key);
    EXPECT_TRUE(after_update.has_value());

    bool deleted = co_await js->delete_key_value("announcements");
    EXPECT_TRUE(deleted);
    bool deleted_again = co_await js->delete_key_value("announcements");
    EXPECT_FALSE(deleted_again);
  }, 60s);
}

TEST(NatsJetStream, PayloadOverMaxPayloadIsRefusedBeforeSending) {
  auto server = start_jetstream_server("max_payload: 65536");
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto js = co_await open_tasks(client);
    EXPECT_EQ(client->max_payload(), 65536u);
    auto sent_before = client->traffic().messages_out;

    Bytes over(65537, 'x');
    std::string error;
    try {
      co_await js->publish("tasks.agent1", over);
    } catch (const JetStreamError& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("65537 bytes (payload 65537 + headers 0) exceed the server's max_payload of 65536"),
              std::string::npos)
        << error;

    // The payload fits alone, not with its headers.
    Bytes nearly(65530, 'x');
    PublishOptions with_id;
    with_id.msg_id = "a-message-id";
    std::string header_error;
    try {
      co_await js->publish("tasks.agent1", nearly, with_id);
    } catch (const JetStreamError& e) {
      header_error = e.what();
    }
    EXPECT_NE(header_error.find("exceed the server's max_payload of 65536"), std::string::npos) << header_error;

    PublishOptions bad_header;
    bad_header.headers = {{"Bad Name", "x"}};
    std::string name_error;
    try {
      co_await js->publish("tasks.agent1", as_bytes("small"), bad_header);
    } catch (const JetStreamError& e) {
      name_error = e.what();
    }
    EXPECT_NE(name_error.find("header name \"Bad Name\""), std::string::npos) << name_error;
    EXPECT_EQ(client->traffic().messages_out, sent_before);  // none of them left

    // A stream's own max_msg_size is the server's to check: refused with its reason.
    Bytes over_stream(30000, 'x');
    auto small_stream = tasks_stream();
    small_stream.name = "SMALL";
    small_stream.subjects = {"small.>"};
    small_stream.max_msg_size = 1024;
    co_await js->ensure_stream(small_stream);
    std::string stream_error;
    int stream_code = 0;
    try {
      co_await js->publish("small.one", over_stream);
    } catch (const JetStreamError& e) {
      stream_error = e.what();
      stream_code = e.code();
    }
    EXPECT_NE(stream_error.find("JetStream publish on small.one"), std::string::npos) << stream_error;
    EXPECT_EQ(stream_code, 10054) << stream_error;

    Bytes under(60000, 'y');
    auto fits = co_await js->publish("tasks.agent1", under);
    EXPECT_EQ(fits.sequence, 1u);
  }, 60s);
}

// While a publish waits for its acknowledgement, the executor goes on running: the server is
// paused (SIGSTOP) so that the acknowledgement cannot come, a timer on the same io_context ticks
// every 2 ms, and only after 25 ticks is the server resumed and the acknowledgement let through.
TEST(NatsJetStream, ExecutorIsNeverBlockedWhileACallWaitsForTheServer) {
  auto server = start_jetstream_server();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = js_client(io, server);
    auto js = co_await open_tasks(client);

    int ticks = 0;
    bool resumed = false;
    asio::steady_timer ticker(io);
    std::function<void(boost::system::error_code)> tick = [&](boost::system::error_code ec) {
      if (ec) return;
      if (++ticks == 25) {
        resumed = true;
        server.resume();
      }
      ticker.expires_after(2ms);
      ticker.async_wait(tick);
    };
    server.pause();
    ticker.expires_after(2ms);
    ticker.async_wait(tick);
    auto ack = co_await js->publish("tasks.agent1", as_bytes("while paused"));
    int ticks_at_ack = ticks;
    EXPECT_TRUE(resumed);
    EXPECT_GE(ticks_at_ack, 25);
    EXPECT_EQ(ack.sequence, 1u);

    // A key-value read the same way.
    KvConfig kv_config;
    kv_config.bucket = "presence";
    auto bucket = co_await js->key_value(kv_config);
    co_await bucket->put("agent", as_bytes("here"));
    ticks = 0;
    resumed = false;
    server.pause();
    auto entry = co_await bucket->get("agent");
    EXPECT_TRUE(resumed);
    EXPECT_GE(ticks, 25);
    CO_ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(std::string(as_string(entry->value)), "here");
    ticker.cancel();
  }, 60s);
}

}  // namespace
}  // namespace stargate::nats
