// nats::Client with a .creds file (NATS decentralized JWT authentication) against a real
// nats-server in operator mode (memory resolver, accounts preloaded). The operator, account and
// user keys and JWTs are made by nats_jwt.hpp with the project's own Ed25519: no nsc needed.
// Covered: a round trip with creds, a user of an unknown account refused with one line, and
// rotation (the server restarted with a new account, the creds file rewritten with a user of it:
// the client re-reads the file on reconnect).
#include "nats/client.hpp"

#include "nats_jwt.hpp"
#include "nats_server.hpp"
#include "nats_test_support.hpp"
#include "test_support.hpp"

#include "base/rfc4648.hpp"

#include <boost/asio/redirect_error.hpp>

#include <deque>
#include <filesystem>
#include <optional>
#include <vector>

namespace stargate::nats {
namespace {

using namespace stargate::nats::test;

using namespace std::chrono_literals;
using stargate::testing::make_account;
using stargate::testing::make_operator;
using stargate::testing::make_user;
using stargate::testing::NatsServer;
using stargate::testing::NatsServerOptions;
using stargate::testing::run_with_timeout;
using stargate::testing::server_config;
using stargate::testing::write_creds;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;


std::shared_ptr<Client> make_client(asio::io_context& io, const std::string& url, const std::filesystem::path& creds,
                                    std::chrono::milliseconds reconnect_wait = 100ms) {
  ClientOptions options;
  options.urls = {url};
  options.creds_file = creds.string();
  options.reconnect_wait = reconnect_wait;
  return Client::create(io.get_executor(), std::move(options));
}

// A subscribe/flush/publish/receive round trip on `subject`.
asio::awaitable<bool> round_trip(asio::io_context& io, const std::shared_ptr<Client>& client, std::string subject,
                                 std::string text) {
  auto box = std::make_shared<Messages>(io.get_executor());
  auto sub = client->subscribe(subject, [box](Message m) { box->push(std::move(m)); });
  co_await client->flush(2s);
  client->publish(subject, as_bytes(text));
  auto got = co_await box->pop();
  co_return got.has_value() && got->subject == subject && text_of(*got) == text;
}

TEST(NatsCreds, NkeyEncodingIsWellFormed) {
  using stargate::testing::Nkey;
  using stargate::testing::NkeyType;
  // CRC16-XMODEM check value ("123456789" -> 0x31C3).
  EXPECT_EQ(stargate::testing::crc16_xmodem(as_bytes("123456789")), 0x31C3);
  auto op = Nkey::generate(NkeyType::operator_key);
  auto account = Nkey::generate(NkeyType::account);
  auto user = Nkey::generate(NkeyType::user);
  EXPECT_EQ(op.public_key().size(), 56u);
  EXPECT_EQ(op.public_key()[0], 'O');
  EXPECT_EQ(account.public_key()[0], 'A');
  EXPECT_EQ(user.public_key()[0], 'U');
  EXPECT_EQ(user.seed().size(), 58u);
  EXPECT_EQ(user.seed().substr(0, 2), "SU");
  EXPECT_EQ(account.seed().substr(0, 2), "SA");
  EXPECT_EQ(op.seed().substr(0, 2), "SO");
}

TEST(NatsCreds, CredsFileAuthenticatesAndMessagesFlow) {
  TempDir dir;
  auto op = make_operator();
  auto account = make_account(op);
  auto user = make_user(account);
  auto creds = dir.path / "user.creds";
  write_creds(creds, user);
  NatsServerOptions options;
  options.config = server_config(op, dir.path / "operator.jwt", {&account});
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, server.url(), creds);
    co_await client->connect();
    EXPECT_TRUE(client->is_connected());
    bool ok = co_await round_trip(io, client, "creds.round.trip", "hello with a jwt");
    EXPECT_TRUE(ok) << server.log();
    // A second user of the same account sees the same subjects.
    auto other = make_user(account, "second-user");
    auto other_creds = dir.path / "other.creds";
    write_creds(other_creds, other);
    auto second = make_client(io, server.url(), other_creds);
    co_await second->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = second->subscribe("creds.shared", [box](Message m) { box->push(std::move(m)); });
    co_await second->flush(2s);
    client->publish("creds.shared", as_bytes("across users"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "across users");
    client->close();
    second->close();
  }, 30s);
}

TEST(NatsCreds, UserOfAnUnknownAccountIsRefusedWithOneLine) {
  TempDir dir;
  auto op = make_operator();
  auto account = make_account(op);
  auto stranger_account = make_account(op, "not-preloaded");  // signed by the operator, but unknown
  auto foreign_op = make_operator("foreign-operator");
  auto foreign_account = make_account(foreign_op, "foreign-account");
  NatsServerOptions options;
  options.config = server_config(op, dir.path / "operator.jwt", {&account});
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    std::vector<const stargate::testing::NatsAccount*> refused_accounts;
    refused_accounts.push_back(&stranger_account);
    refused_accounts.push_back(&foreign_account);
    for (const auto* refused_account : refused_accounts) {
      auto creds = dir.path / "refused.creds";
      write_creds(creds, make_user(*refused_account));
      auto client = make_client(io, server.url(), creds);
      auto error = co_await connect_error(client);
      EXPECT_FALSE(error.empty()) << "a user of an unknown account was let in";
      EXPECT_NE(error.find("uthorization"), std::string::npos) << error;
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
      EXPECT_FALSE(client->is_connected());
      client->close();
    }
    // The server really is in operator mode: no credentials at all, or a user JWT whose claims were
    // altered after signing (the signature no longer matches), are refused as well.
    ClientOptions anonymous_options;
    anonymous_options.urls = {server.url()};
    auto anonymous = Client::create(io.get_executor(), std::move(anonymous_options));
    auto anonymous_error = co_await connect_error(anonymous);
    EXPECT_NE(anonymous_error.find("uthorization"), std::string::npos) << anonymous_error;
    anonymous->close();
    auto tampered_user = make_user(account);
    auto dot = tampered_user.jwt.find('.');
    auto second_dot = tampered_user.jwt.find('.', dot + 1);
    auto claims = base64url_decode(tampered_user.jwt.substr(dot + 1, second_dot - dot - 1));
    CO_ASSERT_TRUE(claims.has_value());
    std::string claims_text(as_string(*claims));
    auto name_at = claims_text.find("stargate-test-user");
    CO_ASSERT_TRUE(name_at != std::string::npos);
    claims_text.replace(name_at, 18, "stargate-evil-user");
    tampered_user.jwt = tampered_user.jwt.substr(0, dot + 1) + base64url_encode(as_bytes(claims_text)) +
                        tampered_user.jwt.substr(second_dot);
    auto tampered_creds = dir.path / "tampered.creds";
    write_creds(tampered_creds, tampered_user);
    auto tampered = make_client(io, server.url(), tampered_creds);
    auto tampered_error = co_await connect_error(tampered);
    EXPECT_NE(tampered_error.find("uthorization"), std::string::npos) << tampered_error;
    tampered->close();

    // A missing creds file is refused too, before any network traffic, with one line.
    auto missing = make_client(io, server.url(), dir.path / "missing.creds");
    auto missing_error = co_await connect_error(missing);
    EXPECT_FALSE(missing_error.empty());
    EXPECT_EQ(missing_error.find('\n'), std::string::npos) << missing_error;
    missing->close();
  }, 30s);
}

// Rotation: the server is restarted with a new account (a new account key; the old account is
// gone) and the creds file is rewritten with a user of it; the client reads the file again when
// it reconnects.
TEST(NatsCreds, RotatedCredsFileIsReadAgainOnReconnect) {
  TempDir dir;
  auto op = make_operator();
  auto first_account = make_account(op, "first-account");
  auto first_user = make_user(first_account, "first-user");
  auto creds = dir.path / "user.creds";
  write_creds(creds, first_user);
  NatsServerOptions options;
  options.config = server_config(op, dir.path / "operator.jwt", {&first_account});
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, server.url(), creds);
    auto states = watch_states(client);
    co_await client->connect();
    bool connected = co_await states->wait_for(ConnectionState::connected);
    EXPECT_TRUE(connected);
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("creds.rotate", [box](Message m) { box->push(std::move(m)); });
    co_await client->flush(2s);
    client->publish("creds.rotate", as_bytes("before rotation"));
    auto before = co_await box->pop();
    CO_ASSERT_TRUE(before.has_value());
    EXPECT_EQ(text_of(*before), "before rotation");

    // The file first, then the server.
    server.stop();
    bool disconnected = co_await states->wait_for(ConnectionState::disconnected);
    EXPECT_TRUE(disconnected);
    auto second_account = make_account(op, "second-account");
    auto second_user = make_user(second_account, "second-user");
    write_creds(creds, second_user);
    auto rotated = server.options();
    rotated.config = server_config(op, dir.path / "operator.jwt", {&second_account});
    server.restart(rotated);
    bool reconnected = co_await states->wait_for(ConnectionState::reconnected, 15s);
    EXPECT_TRUE(reconnected) << server.log();
    CO_ASSERT_TRUE(client->is_connected());

    // The subscription was restored on the new account; messages flow.
    co_await client->flush(2s);
    client->publish("creds.rotate", as_bytes("after rotation"));
    auto after = co_await box->pop();
    CO_ASSERT_TRUE(after.has_value());
    EXPECT_EQ(text_of(*after), "after rotation");

    // The old creds no longer get in.
    auto stale_creds = dir.path / "stale.creds";
    write_creds(stale_creds, first_user);
    auto stale = make_client(io, server.url(), stale_creds);
    auto stale_error = co_await connect_error(stale);
    EXPECT_NE(stale_error.find("uthorization"), std::string::npos) << stale_error;
    stale->close();
    client->close();
    bool closed = co_await states->wait_for(ConnectionState::closed);
    EXPECT_TRUE(closed);
  }, 60s);
}

// The other order: the server moves to a new account before the file is rewritten. nats.c, refused,
// gives the connection up; the client starts new ones (re-reading the file each time) until the
// file holds a user of the new account.
TEST(NatsCreds, AccountRotatedOnTheServerFirstStillGoesThrough) {
  TempDir dir;
  auto op = make_operator();
  auto old_account = make_account(op, "old-account");
  auto creds = dir.path / "user.creds";
  write_creds(creds, make_user(old_account, "old-user"));
  NatsServerOptions options;
  options.config = server_config(op, dir.path / "operator.jwt", {&old_account});
  auto server = NatsServer::start(options);
  asio::io_context io;
  run_with_timeout(io, [&]() -> asio::awaitable<void> {
    auto client = make_client(io, server.url(), creds, 50ms);
    auto states = watch_states(client);
    co_await client->connect();
    auto box = std::make_shared<Messages>(io.get_executor());
    auto sub = client->subscribe("creds.rotate.late", [box](Message m) { box->push(std::move(m)); });
    co_await client->flush(2s);

    auto new_account = make_account(op, "new-account");
    auto rotated = server.options();
    rotated.config = server_config(op, dir.path / "operator.jwt", {&new_account});
    server.restart(rotated);
    bool disconnected = co_await states->wait_for(ConnectionState::disconnected);
    EXPECT_TRUE(disconnected);
    // Wait (bounded) until nats.c has given up at least once and the client replaced it.
    auto deadline = Clock::now() + 10s;
    while (client->connections_replaced() < 1 && Clock::now() < deadline) {
      asio::steady_timer tick(io, 10ms);
      co_await tick.async_wait(asio::use_awaitable);
    }
    EXPECT_GE(client->connections_replaced(), 1u);
    EXPECT_FALSE(client->is_connected());
    EXPECT_FALSE(client->is_closed());

    write_creds(creds, make_user(new_account, "new-user"));
    bool reconnected = co_await states->wait_for(ConnectionState::reconnected, 15s);
    EXPECT_TRUE(reconnected) << server.log();
    CO_ASSERT_TRUE(client->is_connected());
    co_await client->flush(2s);
    client->publish("creds.rotate.late", as_bytes("through"));
    auto got = co_await box->pop();
    CO_ASSERT_TRUE(got.has_value());
    EXPECT_EQ(text_of(*got), "through");
    client->close();
  }, 60s);
}

}  // namespace
}  // namespace stargate::nats
