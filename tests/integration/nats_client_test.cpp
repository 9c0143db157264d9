// nats::Client against a real nats-server (Debian's), started by each test on a kernel-chosen port:
// publish/subscribe, request/reply through an inbox, authentication (token, token file rotated
// while the client runs, user/password), unreachable servers, reconnection after a server restart,
// a 3-server cluster, slow-consumer bounds and object lifetimes. Every wait is on an event, with a
// deadline.
#include "nats/client.hpp"

#include "base/result.hpp"
#include "nats_server.hpp"
#include "nats_test_support.hpp"
#include "test_support.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

namespace stargate::nats {
namespace {

using namespace stargate::nats::test;

using namespace std::chrono_literals;
using stargate::testing::NatsCluster;
using stargate::testing::NatsServer;
using stargate::testing::NatsServerOptions;
using stargate::testing::run_with_timeout;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::shared_ptr<Client> make_client(asio::io_context& io, std::vector<std::string> urls, ClientOptions options = {}) {
  options.urls = std::move(urls);
  return Client::create(io.get_executor(), std::move(options));
}

Client::Handler collect(const std::shared_ptr<Messages>& box) {
  return [box](Message m) { box->push(std::move(m)); };
}

// A port nothing listens on (bound, read back and released: as free as a port can be).
int unused_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(NatsClient, PublishSubscribeRoundTrip) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, {server.url()});
    co_await client->connect();
    EXPECT_TRUE(client->is_connected());
    EXPECT_EQ(client->connected_url(), server.url());
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("test.round.trip", collect(box));
    co_await client->flush(2s);
    client->publish("test.round.trip", as_bytes("hello"));
    client->publish("test.round.trip", as_bytes(""));
    auto first = co_await box->pop();
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->subject, "test.round.trip");
    EXPECT_EQ(text_of(*first), "hello");
    EXPECT_TRUE(first->reply.empty());
    EXPECT_FALSE(first->no_responders);
    auto second = co_await box->pop();
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_TRUE(second->data.empty());
    client->close();
    EXPECT_TRUE(client->is_closed());
    EXPECT_FALSE(client->is_connected());
    EXPECT_THROW(client->publish("test.round.trip", as_bytes("late")), ErrorException);
  }, 30s);
}

TEST(NatsClient, HandlerRunsOnTheIoContextThread) {
  auto server = NatsServer::start();
  asio::io_context io;
  auto io_thread = std::this_thread::get_id();
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, {server.url()});
    auto states = watch_states(client);
    co_await client->connect();
    auto threads = std::make_shared<Mailbox<std::thread::id>>(io.get_executor());
    auto sub = client->subscribe("test.thread", [threads](Message) { threads->push(std::this_thread::get_id()); });
    co_await client->flush(2s);
    for (int i = 0; i < 20; ++i) client->publish("test.thread", as_bytes("x"));
    for (int i = 0; i < 20; ++i) {
      auto id = co_await threads->pop();
      CO_ASSERT_TRUE(id.has_value());
      EXPECT_EQ(*id, io_thread);
    }
    // State callbacks too.
    auto state = co_await states->pop();
    CO_ASSERT_TRUE(state.has_value());
    EXPECT_EQ(*state, ConnectionState::connected);
    client->close();
    co_await states->expect(ConnectionState::closed);
  }, 30s);
}

TEST(NatsClient, RequestReplyThroughAnInbox) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto responder = make_client(io, {server.url()});
    auto requester = make_client(io, {server.url()});
    co_await responder->connect();
    co_await requester->connect();
    std::weak_ptr<Client> weak_responder = responder;
    auto service = responder->subscribe("svc.echo", [weak_responder](Message m) {
      if (auto c = weak_responder.lock(); c && !m.reply.empty()) {
        Bytes answer = to_bytes("echo:");
        append(answer, m.data);
        c->publish(m.reply, answer);
      }
    });
    co_await responder->flush(2s);

    auto inbox = requester->new_inbox();
    EXPECT_EQ(inbox.rfind("_INBOX.", 0), 0u) << inbox;
    EXPECT_NE(inbox, requester->new_inbox());
    auto replies = std::make_shared<Messages>(io.get_executor());
    auto reply_sub = requester->subscribe(inbox, collect(replies));
    co_await requester->flush(2s);
    requester->publish("svc.echo", as_bytes("ping"), inbox);
    auto reply = co_await replies->pop();
    CO_ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->subject, inbox);
    EXPECT_EQ(text_of(*reply), "echo:ping");
    EXPECT_FALSE(reply->no_responders);

    // Nobody listens: the server answers "no responders" on the reply subject at once.
    requester->publish("svc.nobody", as_bytes("ping"), inbox);
    auto none = co_await replies->pop();
    CO_ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->no_responders);
    EXPECT_TRUE(none->data.empty());
  }, 30s);
}

// subscribe_ref: the handler sees subject, reply and payload in place (a large payload too), and
// the "no responders" status; what it copies out is all that outlives it.
TEST(NatsClient, ReferenceHandlerSeesMessagesInPlace) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, {server.url()});
    co_await client->connect();
    auto seen = std::make_shared<Messages>(io.get_executor());
    auto copy = [seen](const MessageRef& m) {
      Message out;
      out.subject = std::string(m.subject);
      out.reply = std::string(m.reply);
      out.data.assign(m.data.begin(), m.data.end());
      out.no_responders = m.no_responders;
      seen->push(std::move(out));
    };
    auto inbox = client->new_inbox();
    auto sub = client->subscribe_ref("ref.>", copy);
    auto replies = client->subscribe_ref(inbox, copy);
    co_await client->flush(2s);
    std::string large(300'000, 'x');
    large[12345] = 'y';
    client->publish("ref.large", as_bytes(large), "the.reply");
    client->publish("ref.empty", {});
    auto first = co_await seen->pop();
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->subject, "ref.large");
    EXPECT_EQ(first->reply, "the.reply");
    EXPECT_EQ(text_of(*first), large);
    auto second = co_await seen->pop();
    CO_ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->subject, "ref.empty");
    EXPECT_TRUE(second->reply.empty());
    EXPECT_TRUE(second->data.empty());
    client->publish("ref.nobody.listens.here", as_bytes("ping"), inbox);  // "ref.>" does: no 503
    auto third = co_await seen->pop();
    CO_ASSERT_TRUE(third.has_value());
    EXPECT_EQ(third->subject, "ref.nobody.listens.here");
    client->publish("svc.nobody", as_bytes("ping"), inbox);
    auto none = co_await seen->pop();
    CO_ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->no_responders);
    EXPECT_EQ(none->subject, inbox);
  }, 30s);
}

TEST(NatsClient, QueueGroupDeliversEachMessageToOneMember) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, {server.url()});
    co_await client->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto a = client->subscribe("work", "workers", collect(box));
    auto b = client->subscribe("work", "workers", collect(box));
    co_await client->flush(2s);
    for (int i = 0; i < 10; ++i) client->publish("work", as_bytes(std::to_string(i)));
    co_await client->flush(2s);
    for (int i = 0; i < 10; ++i) {
      auto m = co_await box->pop();
      CO_ASSERT_TRUE(m.has_value());
    }
    auto extra = co_await box->pop(200ms);  // a duplicate would be here by now (same connection, in order)
    EXPECT_FALSE(extra.has_value());
  }, 30s);
}

TEST(NatsClient, MaxPayloadComesFromTheServer) {
  auto defaults = NatsServer::start();
  NatsServerOptions small;
  small.config = "max_payload: 65536";
  auto limited = NatsServer::start(small);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, {defaults.url()});
    EXPECT_EQ(client->max_payload(), 1024u * 1024u);  // before connecting: the server default
    co_await client->connect();
    EXPECT_EQ(client->max_payload(), 1024u * 1024u);

    auto small_client = make_client(io, {limited.url()});
    co_await small_client->connect();
    EXPECT_EQ(small_client->max_payload(), 65536u);
    Bytes too_big(65537, 0x42);
    try {
      small_client->publish("big", too_big);
      ADD_FAILURE() << "publish over max_payload did not throw";
    } catch (const ErrorException& e) {
      EXPECT_NE(std::string(e.what()).find("max_payload of 65536"), std::string::npos) << e.what();
    }
    Bytes fits(65536, 0x42);
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = small_client->subscribe("big", collect(box));
    co_await small_client->flush(2s);
    small_client->publish("big", fits);
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->data, fits);
  }, 30s);
}

TEST(NatsClient, UnreachableServerFailsQuicklyWithOneLine) {
  asio::io_context io;
  int port = unused_port();
  // A listener that never answers (no INFO): the connect timeout is what ends the attempt.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  int silent_port = silent.local_endpoint().port();
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.connect_timeout = 500ms;
    std::vector<std::string> urls{"nats://127.0.0.1:" + std::to_string(port),
                                  "nats://127.0.0.1:" + std::to_string(silent_port)};
    const auto limit = options.connect_timeout + 1500ms;
    for (const auto& url : urls) {
      auto client = make_client(io, {url}, options);
      auto started = Clock::now();
      auto message = co_await connect_error(client);
      auto elapsed = Clock::now() - started;
      EXPECT_FALSE(message.empty()) << "connect to " << url << " succeeded";
      EXPECT_LT(elapsed, limit) << url;
      EXPECT_EQ(message.rfind("cannot connect to NATS at " + url + ": ", 0), 0u) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
      EXPECT_EQ(message.find(".c:"), std::string::npos) << message;  // no nats.c source locations
      EXPECT_GT(message.size(), ("cannot connect to NATS at " + url + ": ").size()) << message;
      EXPECT_FALSE(client->is_connected());
      EXPECT_THROW(client->publish("x", as_bytes("y")), ErrorException);
    }
  }, 30s);
}

TEST(NatsClient, RetryOnFailedConnectKeepsTryingInTheBackground) {
  asio::io_context io;
  int port = unused_port();
  std::optional<NatsServer> server;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.retry_on_failed_connect = true;
    options.connect_timeout = 500ms;
    options.reconnect_wait = 100ms;
    auto client = make_client(io, {"nats://127.0.0.1:" + std::to_string(port)}, options);
    auto states = watch_states(client);
    auto started = Clock::now();
    co_await client->connect();  // returns although nothing listens
    EXPECT_LT(Clock::now() - started, 2s);
    EXPECT_FALSE(client->is_connected());
    // Subscriptions and publications made while offline take effect once connected.
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("offline.sub", collect(box));
    client->publish("offline.sub", as_bytes("buffered"));

    NatsServerOptions at_port;
    at_port.port = port;
    server.emplace(NatsServer::start(at_port));
    co_await states->expect(ConnectionState::connected);
    EXPECT_TRUE(client->is_connected());
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "buffered");
  }, 30s);
}

TEST(NatsClient, TokenAuthentication) {
  NatsServerOptions options;
  options.token = "s3cret-token";
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions good;
    good.token = "s3cret-token";
    auto client = make_client(io, {server.url()}, good);
    co_await client->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("auth.token", collect(box));
    co_await client->flush(2s);
    client->publish("auth.token", as_bytes("in"));
    auto got = co_await box->pop();
    EXPECT_TRUE(got.has_value());

    ClientOptions bad;
    bad.token = "wrong-token";
    auto refused = make_client(io, {server.url()}, bad);
    auto message = co_await connect_error(refused);
    EXPECT_EQ(message.rfind("cannot connect to NATS at " + server.url() + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("uthorization"), std::string::npos) << message;
    EXPECT_EQ(message.find("wrong-token"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;

    ClientOptions both;
    both.token = "a";
    both.token_file = "/nonexistent";
    auto both_client = make_client(io, {server.url()}, both);
    auto both_error = co_await connect_error(both_client);
    EXPECT_NE(both_error.find("token and token_file"), std::string::npos) << both_error;
  }, 30s);
}

// Runs a command line; false when it fails.
bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// A self-signed certificate for `san` (e.g. "IP:127.0.0.1"), as cert.pem/key.pem prefixed by `name`.
void make_certificate(const std::filesystem::path& dir, const std::string& name, const std::string& cn,
                      const std::string& san) {
  auto key = (dir / (name + "key.pem")).string(), cert = (dir / (name + "cert.pem")).string();
  ASSERT_TRUE(run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -keyout " + key +
                  " -out " + cert + " -subj /CN=" + cn + " -addext subjectAltName=" + san))
      << "openssl could not make a test certificate";
}

TEST(NatsClient, TlsVerifiesTheServer) {
  TempDir dir;
  make_certificate(dir.path, "good", "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
  make_certificate(dir.path, "other", "wrong.example", "DNS:wrong.example");
  auto tls_server = [&](const std::string& name) {
    NatsServerOptions options;
    options.extra_args = {"--tls", "--tlscert", (dir.path / (name + "cert.pem")).string(), "--tlskey",
                          (dir.path / (name + "key.pem")).string()};
    return NatsServer::start(options);
  };
  auto good = tls_server("good");
  auto other = tls_server("other");
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions trusting;
    trusting.tls_ca_file = (dir.path / "goodcert.pem").string();
    auto url = "tls://127.0.0.1:" + std::to_string(good.port());
    auto client = make_client(io, {url}, trusting);
    co_await client->connect();
    EXPECT_TRUE(client->is_connected());
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("over.tls", collect(box));
    co_await client->flush(2s);
    client->publish("over.tls", as_bytes("sealed"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "sealed");

    // Not trusted: the system CAs do not know this certificate.
    auto untrusting = make_client(io, {url});
    auto message = co_await connect_error(untrusting);
    EXPECT_EQ(message.rfind("cannot connect to NATS at " + url + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("certificate"), std::string::npos) << message;

    // Trusted, but issued to another name.
    ClientOptions trusting_other;
    trusting_other.tls_ca_file = (dir.path / "othercert.pem").string();
    auto other_client = make_client(io, {"tls://127.0.0.1:" + std::to_string(other.port())}, trusting_other);
    message = co_await connect_error(other_client);
    EXPECT_NE(message.find("mismatch"), std::string::npos) << message;

    // A missing CA file is an options error, before any connection.
    ClientOptions missing;
    missing.tls_ca_file = (dir.path / "absent.pem").string();
    auto missing_client = make_client(io, {url}, missing);
    message = co_await connect_error(missing_client);
    EXPECT_EQ(message.rfind("NATS options: TLS CA file", 0), 0u) << message;
  }, 30s);
}

TEST(NatsClient, UserPasswordAuthentication) {
  NatsServerOptions options;
  options.user = "agent";
  options.password = "pa55word";
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions good;
    good.user = "agent";
    good.password = "pa55word";
    auto client = make_client(io, {server.url()}, good);
    co_await client->connect();
    EXPECT_TRUE(client->is_connected());

    // Credentials in the URL work too, and never appear in messages.
    auto good_url = "nats://agent:pa55word@127.0.0.1:" + std::to_string(server.port());
    auto in_url = make_client(io, {good_url});
    co_await in_url->connect();
    EXPECT_TRUE(in_url->is_connected());

    ClientOptions bad = good;
    bad.password = "guess";
    auto refused = make_client(io, {server.url()}, bad);
    auto message = co_await connect_error(refused);
    EXPECT_NE(message.find("uthorization"), std::string::npos) << message;

    auto wrong_url = "nats://agent:guess@127.0.0.1:" + std::to_string(server.port());
    auto wrong_in_url = make_client(io, {wrong_url});
    message = co_await connect_error(wrong_in_url);
    EXPECT_NE(message.find("uthorization"), std::string::npos) << message;
    EXPECT_EQ(message.find("guess"), std::string::npos) << message;
    EXPECT_NE(message.find("agent:***@127.0.0.1"), std::string::npos) << message;
  }, 30s);
}

TEST(NatsClient, RotatedTokenFileIsReadAgainOnReconnect) {
  TempDir dir;
  auto token_file = dir.path / "nats.token";
  write_file(token_file, "first-token\n");
  NatsServerOptions options;
  options.token = "first-token";
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions client_options;
    client_options.token_file = token_file.string();
    client_options.reconnect_wait = 100ms;
    auto client = make_client(io, {server.url()}, client_options);
    auto states = watch_states(client);
    co_await client->connect();
    co_await states->expect(ConnectionState::connected);
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("rotate", collect(box));
    co_await client->flush(2s);

    // The credential is rotated: the file first, then the server.
    server.stop();
    co_await states->expect(ConnectionState::disconnected);
    write_file(token_file, "second-token\n");
    auto rotated = server.options();
    rotated.token = "second-token";
    server.restart(rotated);
    co_await states->expect(ConnectionState::reconnected);
    EXPECT_TRUE(client->is_connected());

    co_await client->flush(2s);
    client->publish("rotate", as_bytes("after rotation"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "after rotation");

    // A client holding the old token is refused by the restarted server.
    ClientOptions stale;
    stale.token = "first-token";
    auto stale_client = make_client(io, {server.url()}, stale);
    auto stale_error = co_await connect_error(stale_client);
    EXPECT_NE(stale_error.find("uthorization"), std::string::npos) << stale_error;
  }, 60s);
}

// The server learns the new token before the file is rewritten: nats.c, refused twice, gives the
// connection up; the client starts new ones until the file holds the new token.
TEST(NatsClient, TokenRotatedOnTheServerFirstStillGoesThrough) {
  TempDir dir;
  auto token_file = dir.path / "nats.token";
  write_file(token_file, "old-token");
  NatsServerOptions options;
  options.token = "old-token";
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions client_options;
    client_options.token_file = token_file.string();
    client_options.reconnect_wait = 50ms;
    auto client = make_client(io, {server.url()}, client_options);
    auto states = watch_states(client);
    co_await client->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("rotate.late", collect(box));
    co_await client->flush(2s);
    client->publish("rotate.late", as_bytes("before"));
    CO_ASSERT_TRUE((co_await box->pop()).has_value());
    // Message bytes: 6 out and 6 back in (our own subscription).
    const auto first = client->traffic();
    EXPECT_EQ(first.bytes_out, 6u);
    EXPECT_EQ(first.bytes_in, 6u);
    EXPECT_EQ(first.messages_out, 1u);

    auto rotated = server.options();
    rotated.token = "new-token";
    server.restart(rotated);
    co_await states->expect(ConnectionState::disconnected);
    // Wait (bounded) until nats.c has given up at least once and the client replaced it.
    auto deadline = Clock::now() + 10s;
    while (client->connections_replaced() < 1 && Clock::now() < deadline) {
      asio::steady_timer tick(io, 10ms);
      co_await tick.async_wait(asio::use_awaitable);
    }
    EXPECT_GE(client->connections_replaced(), 1u);
    EXPECT_FALSE(client->is_connected());
    EXPECT_FALSE(client->is_closed());

    write_file(token_file, "new-token");
    co_await states->expect(ConnectionState::reconnected);
    EXPECT_TRUE(client->is_connected());
    co_await client->flush(2s);
    client->publish("rotate.late", as_bytes("through"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "through");
    // The replaced connection's counts are kept: both messages, on two connections.
    const auto both = client->traffic();
    EXPECT_EQ(both.bytes_out, 6u + 7u);
    EXPECT_EQ(both.bytes_in, 6u + 7u);
    EXPECT_EQ(both.messages_in, 2u);
    // Nothing said `closed` on the way.
    while (states->size() > 0) {
      auto s = co_await states->pop(0ms);
      EXPECT_NE(s, std::optional<ConnectionState>(ConnectionState::closed));
    }
    client->close();
    co_await states->expect(ConnectionState::closed);
  }, 60s);
}

// With a finite max_reconnect, refused credentials end the client: `closed`, once.
TEST(NatsClient, FiniteReconnectEndsWithClosed) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.max_reconnect = 2;
    options.reconnect_wait = 50ms;
    options.connect_timeout = 200ms;
    auto client = make_client(io, {server.url()}, options);
    auto states = watch_states(client);
    co_await client->connect();
    server.stop();
    co_await states->expect(ConnectionState::closed);
    EXPECT_FALSE(client->is_connected());
    EXPECT_EQ(client->connections_replaced(), 0u);
    client->close();  // already closed by nats.c: no second `closed`
    auto again = co_await states->pop(200ms);
    EXPECT_FALSE(again.has_value());
  }, 30s);
}

TEST(NatsClient, ServerRestartReconnectsAndKeepsSubscriptions) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.reconnect_wait = 100ms;
    auto subscriber = make_client(io, {server.url()}, options);
    auto publisher = make_client(io, {server.url()}, options);
    auto sub_states = watch_states(subscriber);
    auto pub_states = watch_states(publisher);
    co_await subscriber->connect();
    co_await publisher->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = subscriber->subscribe("survives.restart", collect(box));
    co_await subscriber->flush(2s);
    publisher->publish("survives.restart", as_bytes("before"));
    auto before = co_await box->pop();
    CO_ASSERT_TRUE(before.has_value());

    server.restart();
    co_await sub_states->expect(ConnectionState::disconnected);
    co_await sub_states->expect(ConnectionState::reconnected);
    co_await pub_states->expect(ConnectionState::reconnected);
    // The subscription was sent again on reconnect; the flush makes sure the server has it.
    co_await subscriber->flush(2s);
    publisher->publish("survives.restart", as_bytes("after"));
    auto after = co_await box->pop();
    CO_ASSERT_TRUE(after.has_value());
    EXPECT_EQ(text_of(*after), "after");
  }, 60s);
}

TEST(NatsClient, PublishWhileDisconnectedIsSentOnReconnect) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.reconnect_wait = 100ms;
    auto publisher = make_client(io, {server.url()}, options);
    auto states = watch_states(publisher);
    co_await publisher->connect();
    server.stop();
    co_await states->expect(ConnectionState::disconnected);
    EXPECT_FALSE(publisher->is_connected());
    publisher->publish("buffered.while.down", as_bytes("queued"));  // buffered by nats.c

    server.restart();
    auto subscriber = make_client(io, {server.url()});
    co_await subscriber->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = subscriber->subscribe("buffered.while.down", collect(box));
    co_await subscriber->flush(2s);
    // The publisher may reconnect before or after the subscription reached the server: only a
    // message sent after both is sure to arrive, and it comes after the buffered one if that did.
    co_await states->expect(ConnectionState::reconnected);
    publisher->publish("buffered.while.down", as_bytes("later"));
    bool got_later = false;
    for (int i = 0; i < 2 && !got_later; ++i) {
      auto m = co_await box->pop();
      CO_ASSERT_TRUE(m.has_value());
      got_later = text_of(*m) == "later";
    }
    EXPECT_TRUE(got_later);
  }, 60s);
}

// A server that stops reading (SIGSTOP) cannot block publish() beyond the write deadline: the
// executor stays responsive, publish() fails or buffers, and the client recovers on SIGCONT.
TEST(NatsClient, StalledServerDoesNotBlockPublishForever) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.write_deadline = 300ms;
    options.reconnect_wait = 100ms;
    options.connect_timeout = 500ms;
    auto client = make_client(io, {server.url()}, options);
    auto states = watch_states(client);
    co_await client->connect();
    co_await states->expect(ConnectionState::connected);

    server.pause();
    Bytes chunk(512 * 1024, 0x5a);
    bool failed = false;
    auto slowest = Clock::duration::zero();
    // Socket buffers hold a few MiB, nats.c's reconnect buffer 8 MiB: 256 MiB cannot all fit.
    for (int i = 0; i < 512 && !failed; ++i) {
      auto started = Clock::now();
      try {
        client->publish("stalled", chunk);
      } catch (const ErrorException&) {
        failed = true;
      }
      slowest = std::max(slowest, Clock::now() - started);
    }
    EXPECT_TRUE(failed) << "publish never reported the stalled server";
    EXPECT_LT(slowest, options.write_deadline + 700ms);
    co_await states->expect(ConnectionState::disconnected);

    server.resume();
    co_await states->expect(ConnectionState::reconnected);
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("after.stall", collect(box));
    co_await client->flush(2s);
    client->publish("after.stall", as_bytes("alive"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "alive");
  }, 60s);
}

TEST(NatsClient, ClusterDeliversAcrossServers) {
  auto cluster = NatsCluster::start(3);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions pinned;
    pinned.randomize_servers = false;
    auto on_first = make_client(io, {cluster.server(0).url()}, pinned);
    auto on_third = make_client(io, {cluster.server(2).url()}, pinned);
    co_await on_first->connect();
    co_await on_third->connect();
    EXPECT_EQ(on_first->connected_url(), cluster.server(0).url());
    EXPECT_EQ(on_third->connected_url(), cluster.server(2).url());

    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = on_first->subscribe("across.cluster", collect(box));
    co_await on_first->flush(2s);
    // Interest travels over the route; publishing before it arrives would lose the message.
    co_await asio::post(io, asio::use_awaitable);
    cluster.server(0).wait_for_interest("across.cluster");  // the local view (/subsz)
    cluster.server(2).wait_for_interest("across.cluster");  // the remote view (/routez)
    on_third->publish("across.cluster", as_bytes("from server 3"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "from server 3");

    // A client given the whole cluster connects to one of them.
    auto any = make_client(io, cluster.urls());
    co_await any->connect();
    EXPECT_TRUE(any->is_connected());
  }, 60s);
}

TEST(NatsServerSupport, SubjectMatching) {
  using stargate::testing::subject_matches;
  EXPECT_TRUE(subject_matches("a.b", "a.b"));
  EXPECT_FALSE(subject_matches("a.b", "a.c"));
  EXPECT_FALSE(subject_matches("a.b", "a.b.c"));
  EXPECT_TRUE(subject_matches("a.*", "a.b"));
  EXPECT_FALSE(subject_matches("a.*", "a.b.c"));
  EXPECT_TRUE(subject_matches("a.>", "a.b.c"));
  EXPECT_FALSE(subject_matches("a.>", "a"));
  EXPECT_TRUE(subject_matches(">", "x"));
}

// Lets the executor turn (5 ms at a time) until `done()` or the timeout.
asio::awaitable<void> settle(std::function<bool()> done, std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  auto deadline = Clock::now() + timeout;
  while (!done() && Clock::now() < deadline) {
    asio::steady_timer tick(executor, 5ms);
    co_await tick.async_wait(asio::use_awaitable);
  }
}

// Sequence number carried by a test message.
Bytes numbered(int i) { return to_bytes(std::to_string(i)); }
int number_of(const Message& m) { return std::stoi(text_of(m)); }

// Sockets open in this process.
std::size_t open_sockets() {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ignored;
    if (std::filesystem::read_symlink(entry.path(), ignored).string().rfind("socket:", 0) == 0) ++count;
  }
  return count;
}

// A handler slower than the publisher: nats.c keeps reading on the executor between batches of
// handlers, holds at most pending_msgs_limit messages for the subscription, drops the rest and
// reports a slow consumer. What is delivered comes in order; nothing else goes missing.
TEST(NatsClient, SlowConsumerIsBounded) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions small;
    small.pending_msgs_limit = 16;
    auto subscriber = make_client(io, {server.url()}, small);
    auto publisher = make_client(io, {server.url()});
    co_await subscriber->connect();
    co_await publisher->connect();
    auto received = std::make_shared<std::vector<int>>();
    auto sub = subscriber->subscribe("flood", [received](Message m) {
      received->push_back(number_of(m));
      std::this_thread::sleep_for(2ms);  // slow, and holding the executor
    });
    co_await subscriber->flush(2s);

    constexpr int total = 2000;
    for (int i = 0; i < total; ++i) publisher->publish("flood", numbered(i));
    co_await publisher->flush(2s);
    co_await settle([&] { return static_cast<int>(received->size()) + sub.dropped() >= total; }, 10s);
    EXPECT_EQ(static_cast<int>(received->size()) + sub.dropped(), total);
    EXPECT_GT(sub.dropped(), 0);
    EXPECT_GE(received->size(), 16u);          // one full queue at least
    EXPECT_LE(received->size(), total / 4u);   // a bounded backlog, not everything
    EXPECT_TRUE(std::is_sorted(received->begin(), received->end()));
    EXPECT_EQ(std::adjacent_find(received->begin(), received->end()), received->end());  // no duplicates
  }, 60s);
}

// A burst of thousands of messages within the pending limits (the defaults) arrives whole and in
// order, although the handlers run on the same thread that reads the socket.
TEST(NatsClient, BurstWithinThePendingLimitLosesNothing) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto subscriber = make_client(io, {server.url()});
    auto publisher = make_client(io, {server.url()});
    co_await subscriber->connect();
    co_await publisher->connect();
    auto received = std::make_shared<std::vector<int>>();
    auto sizes_ok = std::make_shared<bool>(true);
    auto sub = subscriber->subscribe("burst", [received, sizes_ok](Message m) {
      received->push_back(std::stoi(std::string(as_string(m.data).substr(0, 8))));
      if (m.data.size() != 8 + 4096) *sizes_ok = false;
    });
    co_await subscriber->flush(2s);

    constexpr int total = 5000;  // ~20 MiB: many socket reads, many batches of handlers
    Bytes payload(8 + 4096, 'x');
    for (int i = 0; i < total; ++i) {
      auto digits = std::to_string(10000000 + i);
      std::copy(digits.begin(), digits.end(), payload.begin());
      publisher->publish("burst", payload);
      if (i % 500 == 499) co_await asio::post(io, asio::use_awaitable);  // let both sides turn
    }
    co_await publisher->flush(5s);
    co_await settle([&] { return static_cast<int>(received->size()) >= total; }, 20s);
    EXPECT_EQ(static_cast<int>(received->size()), total);
    CO_ASSERT_TRUE(static_cast<int>(received->size()) == total);
    EXPECT_EQ(sub.dropped(), 0);
    EXPECT_TRUE(*sizes_ok);
    for (int i = 0; i < total; ++i) {
      if ((*received)[static_cast<std::size_t>(i)] != 10000000 + i) {
        ADD_FAILURE() << "message " << i << " out of order";
        break;
      }
    }
  }, 60s);
}

// Reconnections with the event loop attached: each one adopts the new socket (messages flow both
// ways after it) and gives the previous one back; closing the client leaves no descriptor open.
TEST(NatsClient, ReconnectsReattachTheEventLoopAndLeakNoSocket) {
  auto server = NatsServer::start();
  asio::io_context io;
  std::size_t before = open_sockets();
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    ClientOptions options;
    options.reconnect_wait = 50ms;
    auto client = make_client(io, {server.url()}, options);
    auto states = watch_states(client);
    co_await client->connect();
    co_await states->expect(ConnectionState::connected);
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("loop.echo", collect(box));
    co_await client->flush(2s);
    for (int round = 0; round < 3; ++round) {
      client->publish("loop.echo", numbered(round));
      auto got = co_await box->pop();
      CO_ASSERT_TRUE(got.has_value());
      EXPECT_EQ(number_of(*got), round);
      server.restart();
      co_await states->expect(ConnectionState::disconnected);
      co_await states->expect(ConnectionState::reconnected);
      co_await client->flush(2s);  // the subscription is back on the server
    }
    client->publish("loop.echo", numbered(99));
    auto last = co_await box->pop();
    CO_ASSERT_TRUE(last.has_value());
    EXPECT_EQ(number_of(*last), 99);
    client->close();
    co_await states->expect(ConnectionState::closed);
    sub.unsubscribe();
  }, 60s);
  io.run_for(50ms);  // the sockets' closing handlers
  EXPECT_LE(open_sockets(), before);
}

// A client destroyed by its own handler while more messages wait in its queue, and one destroyed
// with messages unsent and a subscription flooded: no handler runs afterwards, nothing crashes
// (ASan checks the rest), the io_context keeps serving others.
TEST(NatsClient, ClientDestroyedWithMessagesInFlight) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto publisher = make_client(io, {server.url()});
    co_await publisher->connect();

    auto calls = std::make_shared<int>(0);
    {
      auto holder = std::make_shared<std::shared_ptr<Client>>(make_client(io, {server.url()}));
      co_await (*holder)->connect();
      auto sub = std::make_shared<Subscription>();
      *sub = (*holder)->subscribe("doomed", [holder, calls, sub](Message) {
        if (++*calls == 3) holder->reset();  // the last reference to the client, from its own handler
      });
      co_await (*holder)->flush(2s);
      for (int i = 0; i < 500; ++i) publisher->publish("doomed", numbered(i));
      co_await publisher->flush(2s);
      co_await settle([&] { return !*holder; }, 5s);
      EXPECT_FALSE(*holder);
      EXPECT_FALSE(sub->active());
      *sub = Subscription();  // breaks the handler -> sub cycle
    }
    EXPECT_EQ(*calls, 3);

    {
      auto client = make_client(io, {server.url()});
      co_await client->connect();
      auto sub = client->subscribe("doomed2", [calls](Message) { ++*calls; });
      co_await client->flush(2s);
      for (int i = 0; i < 500; ++i) publisher->publish("doomed2", numbered(i));
      Bytes big(256 * 1024, 0x42);
      for (int i = 0; i < 8; ++i) client->publish("nobody.listens", big);  // still unsent
      co_await publisher->flush(2s);
      client.reset();  // messages queued for `sub`, bytes unsent: all dropped with it
    }
    int seen = *calls;
    for (int i = 0; i < 10; ++i) co_await asio::post(io, asio::use_awaitable);
    EXPECT_EQ(*calls, seen);

    // The executor still serves other clients.
    auto box = std::make_shared<Messages>(io.get_executor());
    auto live = publisher->subscribe("still.alive", collect(box));
    co_await publisher->flush(2s);
    publisher->publish("still.alive", as_bytes("yes"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
  }, 60s);
}

TEST(NatsClient, LifetimesAreSafe) {
  auto server = NatsServer::start();
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto publisher = make_client(io, {server.url()});
    co_await publisher->connect();

    // A subscription outliving its client, with messages in flight when the client goes.
    Subscription survivor;
    {
      auto client = make_client(io, {server.url()});
      co_await client->connect();
      auto calls = std::make_shared<int>(0);
      survivor = client->subscribe("lifetime", [calls](Message) { ++*calls; });
      co_await client->flush(2s);
      for (int i = 0; i < 200; ++i) publisher->publish("lifetime", as_bytes("x"));
      co_await publisher->flush(2s);
    }  // client destroyed here
    EXPECT_FALSE(survivor.active());
    survivor.unsubscribe();

    // Unsubscribed: the handler is not called again, even for messages already queued.
    auto client = make_client(io, {server.url()});
    co_await client->connect();
    auto calls = std::make_shared<int>(0);
    auto sub = client->subscribe("lifetime2", [calls](Message) { ++*calls; });
    co_await client->flush(2s);
    for (int i = 0; i < 100; ++i) publisher->publish("lifetime2", as_bytes("x"));
    co_await publisher->flush(2s);
    sub.unsubscribe();
    int seen = *calls;
    co_await client->flush(2s);
    co_await asio::post(io, asio::use_awaitable);
    EXPECT_EQ(*calls, seen);

    // Closed: subscribe and flush refuse, state says closed, a second close is harmless.
    client->close();
    client->close();
    EXPECT_THROW(client->subscribe("x", [](Message) {}), ErrorException);
    bool flush_threw = false;
    try {
      co_await client->flush(1s);
    } catch (const ErrorException&) {
      flush_threw = true;
    }
    EXPECT_TRUE(flush_threw);
  }, 30s);

  // An io_context destroyed while a connect is under way (the coroutine frame holds the only
  // reference to the client): nothing may touch the dead io_context afterwards.
  {
    auto silent = std::make_unique<asio::io_context>();
    asio::ip::tcp::acceptor listener(*silent, {asio::ip::make_address("127.0.0.1"), 0});
    ClientOptions options;
    options.connect_timeout = 300ms;
    auto client = make_client(*silent, {"nats://127.0.0.1:" + std::to_string(listener.local_endpoint().port())},
                              options);
    asio::co_spawn(*silent, [client]() -> asio::awaitable<void> { co_await client->connect(); }, asio::detached);
    client.reset();
    silent->run_for(50ms);  // the connect is now waiting on the helper thread
    listener.close();
    silent.reset();
  }

  // A client destroyed with its io_context never run again.
  asio::io_context idle;
  {
    auto client = make_client(idle, {server.url()});
    client->on_state_change([](ConnectionState) {});
  }
}

}  // namespace
}  // namespace stargate::nats
