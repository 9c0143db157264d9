// A real Host against a hand-made client that speaks multistream-select, a real Noise XX handshake
// (the sans-IO Libp2pNoiseHandshake / HandshakeState + SecureTransport, not the host's own I/O
// layer) and Yamux, and then breaks the rules: oversized data frames, a reused stream ID, a SYN
// carrying more data than the initial window, a bad handshake signature. Each time the node must
// drop that connection (after a GoAway where a Yamux session exists) and keep serving honest
// peers. Also: IPv6 loopback, identify push, and the connection / handshake limits.
#include "base/deadline_io.hpp"
#include "crypto/noise/handshake_state.hpp"
#include "p2p/host/noise_io.hpp"
#include "p2p/host/standard_protocols.hpp"
#include "p2p/multistream/multistream.hpp"
#include "p2p/noise/libp2p_handshake.hpp"
#include "p2p/protocols/ping/ping_io.hpp"
#include "p2p/tcp/tcp_address.hpp"
#include "p2p/tcp/tcp_stream.hpp"
#include "p2p/yamux/frame.hpp"
#include "host_test_support.hpp"
#include "raw_client.hpp"

#include <algorithm>
#include <optional>

namespace stargate::p2p {
namespace {

using namespace std::chrono_literals;
using stargate::testing::run_with_timeout;

constexpr auto kEndTimeout = 5s;

using Node = stargate::testing::TestNode;

// Polls `condition` every 5 ms, at most `timeout`: for state that changes without an event to wait on.
awaitable<bool> eventually(std::function<bool()> condition, Clock::duration timeout = 5s) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto until = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() >= until) co_return false;
    timer.expires_after(5ms);
    co_await timer.async_wait(use_awaitable);
  }
  co_return true;
}

// Opens a session, sends `frames` (already-encoded Yamux bytes, encrypted here) and reports how the
// node ended the connection.
awaitable<Ending> misbehave(Node& node, std::vector<Bytes> frames) {
  auto client = co_await open_yamux_session(node);
  EXPECT_EQ(node.host.connections().size(), 1u);
  for (const auto& frame : frames) co_await client->send(frame);
  co_return co_await client->wait_for_end(kEndTimeout);
}

void expect_protocol_error_close(const Ending& ending, Node& node) {
  EXPECT_TRUE(ending.closed) << "the node did not close the connection within the timeout";
  EXPECT_TRUE(ending.error.empty()) << ending.error;
  ASSERT_TRUE(ending.go_away.has_value()) << "no GoAway before the close";
  EXPECT_EQ(*ending.go_away, yamux::go_away_code::protocol_error);
  // The connection is gone from the node's books (released before the socket closed).
  EXPECT_EQ(node.host.resources().connections(), 0u);
  EXPECT_TRUE(node.host.connections().empty());
}

class HostilePeerTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

TEST_F(HostilePeerTest, ClientBuiltFromSansIoPartsIsServedWhenHonest) {
  // The harness itself works: an honest session is not closed, so the closes below are the
  // node's reaction to the misbehaviour and not an artefact of the client.
  Node b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto client = co_await open_yamux_session(b);
    CO_ASSERT_TRUE(co_await eventually([&] { return b.host.connections().size() == 1; }));
    // A benign frame (window update for a stream that was never opened would be an error, so
    // a second ping) keeps it alive.
    EXPECT_TRUE(co_await client->yamux_ping(7));
    EXPECT_EQ(b.host.resources().connections(), 1u);
  });
}

TEST_F(HostilePeerTest, OversizedDataFramesCloseTheConnection) {
  Node a(io), b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    // Over max_frame_data (16 MiB): refused on the header alone, no body needed.
    std::vector<Bytes> huge{yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 1, 0),
                            yamux_header(yamux::FrameType::data, 0, 1, 17 * 1024 * 1024)};
    auto ending = co_await misbehave(b, huge);
    expect_protocol_error_close(ending, b);
    // Within max_frame_data but beyond the stream's receive window (256 KiB).
    std::vector<Bytes> beyond_window{yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 1, 0),
                                     yamux_header(yamux::FrameType::data, 0, 1, 300 * 1024)};
    ending = co_await misbehave(b, beyond_window);
    expect_protocol_error_close(ending, b);
    co_await expect_ping_works(a.host, b.full_addr());
  });
}

TEST_F(HostilePeerTest, StreamIdReuseClosesTheConnection) {
  Node a(io), b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    // SYN twice for a live stream.
    std::vector<Bytes> twice{yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 1, 0),
                             yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 1, 0)};
    auto ending = co_await misbehave(b, twice);
    expect_protocol_error_close(ending, b);
    // SYN again for a stream that was opened and reset: IDs are never reused.
    std::vector<Bytes> after_reset{yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 3, 0),
                                   yamux_header(yamux::FrameType::window_update, yamux::flag::rst, 3, 0),
                                   yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 3, 0)};
    ending = co_await misbehave(b, after_reset);
    expect_protocol_error_close(ending, b);
    co_await expect_ping_works(a.host, b.full_addr());
  });
}

TEST_F(HostilePeerTest, SynWithDataBeyondInitialWindowClosesTheConnection) {
  Node a(io), b(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    std::vector<Bytes> syn{yamux_header(yamux::FrameType::data, yamux::flag::syn, 1, yamux::kDefaultWindow + 1)};
    auto ending = co_await misbehave(b, syn);
    expect_protocol_error_close(ending, b);
    co_await expect_ping_works(a.host, b.full_addr());
  });
}

TEST_F(HostilePeerTest, SynDataIsCheckedAgainstTheWireDefaultNotOurLargerWindow) {
  // The node would give the stream 1 MiB, but the peer cannot know that before the ACK: a SYN
  // with 300 KiB is a violation only the check made before the stream exists can catch
  // (rust-yamux CVE-2026-32314), since the stream's own window would admit it.
  HostConfig config;
  config.mux.yamux.initial_window = 1024 * 1024;
  Node a(io), b(io, config);
  run_with_timeout(io, [&]() -> awaitable<void> {
    std::vector<Bytes> syn{yamux_header(yamux::FrameType::data, yamux::flag::syn, 1, 300 * 1024)};
    auto ending = co_await misbehave(b, syn);
    expect_protocol_error_close(ending, b);
    co_await expect_ping_works(a.host, b.full_addr());
  });
}

// Runs the handshake with a chosen static key and payload; true when the node then goes on to
// negotiate the muxer, false when it hangs up.
awaitable<bool> handshake_accepted(const Node& node, const crypto::X25519PrivateKey& static_key, BytesView payload) {
  auto client = co_await dial_raw(node);
  co_await client->select_plain(noise_protocol_id);
  co_await client->secure_with_payload(static_key, payload);
  bool accepted = false;
  std::string error;
  // The node has no reason to stall either way: reaching the deadline is a failure of its own.
  RawClient* raw = client.get();
  Deadline deadline(client->executor(), kEndTimeout, [raw] { raw->abort(); });
  try {
    co_await client->select_secure(yamux_protocol_id);
    accepted = true;
  } catch (const std::exception& e) {
    error = e.what();
  }
  EXPECT_FALSE(deadline.expired()) << "the node neither accepted nor refused the handshake";
  if (!accepted) {
    EXPECT_NE(error.find("closed"), std::string::npos) << error;
  }
  co_return accepted;
}

TEST_F(HostilePeerTest, BadHandshakeSignatureIsRefusedAndNodeKeepsServing) {
  HostConfig config;
  config.upgrade_timeout = 20s;  // longer than the test's own waits: a refusal must be immediate
  Node a(io), b(io, config);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto identity_a = crypto::Ed25519PrivateKey::generate();
    auto identity_b = crypto::Ed25519PrivateKey::generate();
    auto key_a = noise::StaticNoiseKey::generate(identity_a);
    auto key_b = noise::StaticNoiseKey::generate(identity_b);
    std::vector<std::string> muxers{yamux_protocol_id};

    // Control: A's static key with A's own payload is accepted.
    auto good = noise::encode_handshake_payload(key_a, muxers);
    EXPECT_TRUE(co_await handshake_accepted(b, key_a.key(), good));

    // A's static key, B's identity and signature: B never signed A's static key.
    auto forged = noise::encode_handshake_payload(key_b, muxers);
    EXPECT_FALSE(co_await handshake_accepted(b, key_a.key(), forged));
    EXPECT_TRUE(co_await eventually([&] { return b.host.resources().pending_handshakes() == 0; }));

    co_await expect_ping_works(a.host, b.full_addr());
  });
}

TEST_F(HostilePeerTest, Ipv6LoopbackConnectAndPing) {
  std::optional<Node> a, b;
  try {
    a.emplace(io, HostConfig{}, std::nullopt, "/ip6/::1/tcp/0");
    b.emplace(io, HostConfig{}, std::nullopt, "/ip6/::1/tcp/0");
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind ::1: " << e.what();
  }
  EXPECT_EQ(b->addr.to_string().rfind("/ip6/::1/tcp/", 0), 0u) << b->addr.to_string();
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await a->host.connect(b->full_addr());
    EXPECT_EQ(connection->info().remote_peer, b->host.peer_id());
    EXPECT_EQ(connection->info().remote_addr.to_string().rfind("/ip6/::1/tcp/", 0), 0u);
    std::vector<std::string> protocols{ping::protocol_id};
    auto stream = co_await a->host.open_stream(connection, protocols);
    auto rtt = co_await ping::round_trip(*stream);
    EXPECT_GT(rtt.count(), 0);
    auto seen = co_await b->identify->wait_identified(a->host.peer_id(), 10s);
    CO_ASSERT_TRUE(seen.observed_addr.has_value());
    EXPECT_EQ(seen.observed_addr->to_string().rfind("/ip6/::1/tcp/", 0), 0u);
  });
}

bool lists(const PeerInfo* info, const std::string& protocol) {
  return info && std::find(info->protocols.begin(), info->protocols.end(), protocol) != info->protocols.end();
}

TEST_F(HostilePeerTest, IdentifyPushUpdatesThePeerStore) {
  Node a(io), b(io);
  const std::string added = "/stargate/test-added/1.0.0";
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await a.host.connect(b.full_addr());
    co_await a.identify->wait_identified(b.host.peer_id(), 10s);
    EXPECT_FALSE(lists(a.host.peer_store().find(b.host.peer_id()), added));

    b.host.set_handler(added, [](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
      stream->close();
      co_return;
    });
    b.identify->push_to_all();
    EXPECT_TRUE(co_await eventually([&] { return lists(a.host.peer_store().find(b.host.peer_id()), added); }))
        << "A's peer store never listed the pushed protocol";
    // What A learned is still the rest of B's list too.
    EXPECT_TRUE(lists(a.host.peer_store().find(b.host.peer_id()), ping::protocol_id));
  });
}

TEST_F(HostilePeerTest, SecondConnectionFromSamePeerIsRefusedOverPerPeerLimit) {
  HostConfig config;
  config.limits.max_connections_per_peer = 1;
  Node server(io, config);
  auto seed = crypto::Ed25519PrivateKey::generate().seed();
  Node first(io, {}, crypto::Ed25519PrivateKey::from_seed(seed).value(), "");
  Node second(io, {}, crypto::Ed25519PrivateKey::from_seed(seed).value(), "");
  ASSERT_EQ(first.host.peer_id(), second.host.peer_id());
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto c1 = co_await first.host.connect(server.full_addr());
    CO_ASSERT_TRUE(co_await eventually([&] { return server.host.resources().connections() == 1; }));

    // The second dial completes its handshake, then the server refuses it: either connect() fails
    // or the connection it returns is closed at once.
    std::shared_ptr<MuxedConnection> c2;
    std::string error;
    try {
      c2 = co_await second.host.connect(server.full_addr());
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (c2) {
      CO_ASSERT_TRUE(co_await eventually([&] { return c2->is_closed(); }));
    } else {
      EXPECT_FALSE(error.empty());
    }
    EXPECT_EQ(server.host.resources().connections(), 1u);
    EXPECT_EQ(server.host.connections().size(), 1u);
    EXPECT_EQ(server.host.resources().pending_handshakes(), 0u);

    // The first connection is untouched.
    EXPECT_FALSE(c1->is_closed());
    std::vector<std::string> protocols{ping::protocol_id};
    auto stream = co_await first.host.open_stream(c1, protocols);
    co_await ping::round_trip(*stream);

    // Once it closes, its grant is released and the same peer may connect again.
    auto on_server = server.host.find_connection(first.host.peer_id());
    CO_ASSERT_TRUE(on_server);
    c1->close();
    co_await on_server->wait_closed();
    EXPECT_EQ(server.host.resources().connections(), 0u);
    auto c3 = co_await second.host.connect(server.full_addr());
    auto stream3 = co_await second.host.open_stream(c3, protocols);
    co_await ping::round_trip(*stream3);
    EXPECT_EQ(server.host.resources().connections(), 1u);
  });
}

TEST_F(HostilePeerTest, PendingHandshakeSlotGoesToTheNewestSocketOfTheSameSource) {
  // One slot, one source: a newer socket replaces the older one (which the node closes), so a
  // source that keeps opening silent sockets only ever pushes out its own (docs/limits.md).
  HostConfig config;
  config.limits.max_pending_handshakes = 1;
  config.upgrade_timeout = 30s;  // a stalled client would keep its slot for the whole test
  Node a(io), server(io, config);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto endpoint = to_tcp_endpoint(server.addr).value();
    auto older = co_await dial_tcp(endpoint);  // connects, sends nothing
    CO_ASSERT_TRUE(co_await eventually([&] { return server.host.resources().pending_handshakes() == 1; }));

    auto newer = co_await dial_tcp(endpoint);
    EXPECT_TRUE(co_await closed_by_peer(older, kEndTimeout)) << "the older stalled socket kept its slot";
    EXPECT_EQ(server.host.resources().pending_handshakes(), 1u);
    EXPECT_GE(server.host.resources().usage().refusals["ip handshakes_evicted"], 1u);

    // The newer one holds the slot until it goes; then the slot comes back.
    EXPECT_TRUE(newer.is_open());
    boost::system::error_code ignored;
    newer.shutdown(tcp::socket::shutdown_both, ignored);
    newer.close(ignored);
    CO_ASSERT_TRUE(co_await eventually([&] { return server.host.resources().pending_handshakes() == 0; }));

    // An honest peer is served again.
    co_await expect_ping_works(a.host, server.full_addr());
  });
}

}  // namespace
}  // namespace stargate::p2p
