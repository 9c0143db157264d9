// The attacks of issue 13, each reproduced against a real node on loopback and followed by a
// legitimate peer that must be served, with the node's resources back where they were
// (docs/threat-model.md, docs/limits.md):
//   - silent sockets holding every pending-handshake slot (shared among source IPs, evicted,
//     shorter timeout under pressure, back-off of a source that keeps stalling);
//   - a peer that stops reading while the node writes to it (write deadline, memory charged);
//   - gossipsub peers that leave, cleanly or abruptly (every stream, grant and connection freed);
//   - one caller holding every A2A call slot with requests it never sends (shares, deadlines,
//     strikes and back-off).
#include "agent/a2a_io.hpp"
#include "agent/jsonrpc.hpp"
#include "agent_test_support.hpp"
#include "base/varint.hpp"
#include "p2p/protocols/gossipsub/gossipsub_io.hpp"
#include "p2p/protocols/gossipsub/messages.hpp"
#include "raw_client.hpp"

#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>

namespace stargate::p2p {
namespace {

using namespace std::chrono_literals;
using stargate::testing::run_with_timeout;
using stargate::testing::wait_until;
using Node = stargate::testing::TestNode;
namespace gs = gossipsub;
namespace json = boost::json;

// A TCP socket to `node` from the loopback address `from` (127.0.0.0/8 is all loopback, and each
// address is a source of its own), that then says nothing.
awaitable<tcp::socket> silent_socket(const Node& node, const std::string& from) {
  co_return co_await dial_tcp(to_tcp_endpoint(node.addr).value(), tcp::endpoint(asio::ip::make_address(from), 0));
}

std::size_t refusals(Host& host, const std::string& what) {
  auto usage = host.resources().usage();
  auto it = usage.refusals.find(what);
  return it == usage.refusals.end() ? 0 : it->second;
}

std::size_t protocol_streams(Host& host, const std::string& protocol) {
  for (const auto& scope : host.resources().usage().scopes) {
    if (scope.scope != "protocol" || scope.name != protocol) continue;
    for (const auto& gauge : scope.gauges)
      if (gauge.resource == "streams") return gauge.used;
  }
  return 0;
}

class DenialOfServiceTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
};

// ---------------------------------------------------------------- pending handshakes

TEST_F(DenialOfServiceTest, SilentSocketsFromOneSourceCannotTakeEveryHandshakeSlot) {
  HostConfig config;
  config.limits.max_pending_handshakes = 8;
  config.upgrade_timeout = 30s;  // the silent sockets would hold their slots for the whole test
  config.upgrade_timeout_under_pressure = 30s;
  Node server(io, config);
  Node honest(io, {}, std::nullopt, "/ip4/127.0.0.2/tcp/0");  // dials from its listen address
  run_with_timeout(io, [&]() -> awaitable<void> {
    std::vector<tcp::socket> silent;
    for (int i = 0; i < 8; ++i) silent.push_back(co_await silent_socket(server, "127.0.0.1"));
    CO_ASSERT_TRUE(co_await wait_until([&] { return server.host.resources().pending_handshakes() == 8; }, 5s));
    // Every slot is taken by 127.0.0.1; a peer from another address is still served, and the
    // slot it got was the oldest silent socket's.
    co_await expect_ping_works(honest.host, server.full_addr());
    EXPECT_TRUE(co_await closed_by_peer(silent.front(), 5s)) << "the oldest silent socket kept its slot";
    EXPECT_GE(refusals(server.host, "ip handshakes_evicted"), 1u);
    EXPECT_EQ(server.host.resources().pending_handshakes(), 7u);
  });
}

TEST_F(DenialOfServiceTest, OneSourceHoldsAtMostItsShareOfHandshakes) {
  HostConfig config;
  config.limits.max_pending_handshakes = 8;
  config.limits.max_pending_handshakes_per_ip = 3;
  config.limits.loopback_exempt = false;  // so that the per-IP cap applies on loopback
  config.upgrade_timeout = 30s;
  config.upgrade_timeout_under_pressure = 30s;
  Node server(io, config);
  Node honest(io, {}, std::nullopt, "/ip4/127.0.0.2/tcp/0");
  run_with_timeout(io, [&]() -> awaitable<void> {
    std::vector<tcp::socket> silent;
    for (int i = 0; i < 3; ++i) silent.push_back(co_await silent_socket(server, "127.0.0.3"));
    CO_ASSERT_TRUE(co_await wait_until([&] { return server.host.resources().pending_handshakes() == 3; }, 5s));
    auto fourth = co_await silent_socket(server, "127.0.0.3");
    EXPECT_TRUE(co_await closed_by_peer(fourth, 5s)) << "a fourth socket from the same IP was let in";
    EXPECT_EQ(server.host.resources().pending_handshakes(), 3u);
    EXPECT_GE(refusals(server.host, "ip handshakes"), 1u);
    co_await expect_ping_works(honest.host, server.full_addr());
  });
}

TEST_F(DenialOfServiceTest, UnderPressureNewHandshakesGetTheShorterTimeout) {
  HostConfig config;
  config.limits.max_pending_handshakes = 4;
  config.upgrade_timeout = 30s;
  config.upgrade_timeout_under_pressure = 300ms;
  Node server(io, config);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto first = co_await silent_socket(server, "127.0.0.1");  // 1 of 4: the normal timeout
    CO_ASSERT_TRUE(co_await wait_until([&] { return server.host.resources().pending_handshakes() == 1; }, 5s));
    auto second = co_await silent_socket(server, "127.0.0.1");  // 2 of 4: under pressure
    EXPECT_TRUE(co_await closed_by_peer(second, 5s)) << "the short timeout did not close the second socket";
    // The first still holds its slot (its timeout is 30 s).
    EXPECT_EQ(server.host.resources().pending_handshakes(), 1u);
    EXPECT_TRUE(first.is_open());
  });
}

TEST_F(DenialOfServiceTest, ASourceThatKeepsStallingIsBackedOffAtAccept) {
  HostConfig config;
  config.limits.loopback_exempt = false;
  config.upgrade_timeout = 200ms;
  config.upgrade_timeout_under_pressure = 200ms;
  config.handshake_offenders = {2, std::chrono::milliseconds(60'000), std::chrono::milliseconds(60'000), 100};
  Node server(io, config);
  Node honest(io, {}, std::nullopt, "/ip4/127.0.0.2/tcp/0");
  run_with_timeout(io, [&]() -> awaitable<void> {
    for (int i = 0; i < 2; ++i) {
      auto stalled = co_await silent_socket(server, "127.0.0.3");
      EXPECT_TRUE(co_await closed_by_peer(stalled, 5s)) << "the upgrade timeout did not close a silent socket";
    }
    // Two strikes: the next socket from that IP is closed at accept, before any handshake starts.
    auto refused = co_await silent_socket(server, "127.0.0.3");
    EXPECT_TRUE(co_await closed_by_peer(refused, 5s));
    EXPECT_EQ(refusals(server.host, "ip handshake_backoff"), 1u);
    EXPECT_EQ(server.host.resources().pending_handshakes(), 0u);
    co_await expect_ping_works(honest.host, server.full_addr());
  });
}

// ---------------------------------------------------------------- a peer that stops reading

Bytes multistream_line(std::string_view text) {
  Bytes out;
  append_uvarint(out, text.size() + 1);
  append(out, as_bytes(text));
  out.push_back('\n');
  return out;
}

TEST_F(DenialOfServiceTest, APeerThatStopsReadingIsCutOffAndItsMemoryComesBack) {
  HostConfig config;
  config.mux.write_timeout = 1500ms;
  Node server(io, config), honest(io);
  run_with_timeout(io, [&]() -> awaitable<void> {
    const auto memory_before = server.host.resources().memory();
    auto client = co_await open_yamux_session(server);
    CO_ASSERT_TRUE(co_await wait_until([&] { return server.host.connections().size() == 1; }, 5s));
    std::weak_ptr<MuxedConnection> on_server = server.host.connections().front();
    // Stream 1 with a 512 MiB window, /perf asking for 1 GiB, our side closed: the node writes
    // as fast as the socket takes it, and this client never reads a byte.
    Bytes frames = yamux_header(yamux::FrameType::window_update, yamux::flag::syn, 1, 512u << 20);
    Bytes request = multistream_line("/multistream/1.0.0");
    append(request, multistream_line("/perf/1.0.0"));
    const std::uint64_t download = std::uint64_t{1} << 30;
    for (int shift = 56; shift >= 0; shift -= 8) request.push_back(static_cast<std::uint8_t>(download >> shift));
    append(frames, yamux_header(yamux::FrameType::data, 0, 1, static_cast<std::uint32_t>(request.size())));
    append(frames, request);
    append(frames, yamux_header(yamux::FrameType::data, yamux::flag::fin, 1, 0));
    co_await client->send(frames);

    // While the socket is full, what waits for it is reserved from the node's memory...
    const bool charged =
        co_await wait_until([&] { return server.host.resources().memory() > memory_before + (1u << 20); }, 10s);
    EXPECT_TRUE(charged) << "the output waiting for a slow reader was not charged to the resource manager";
    // ...until the write deadline cuts the peer off: connection, streams and memory all given back.
    const bool released = co_await wait_until(
        [&] {
          return on_server.expired() && server.host.resources().connections() == 0 &&
                 server.host.resources().streams() == 0 && server.host.resources().memory() == memory_before;
        },
        15s);
    EXPECT_TRUE(released) << "connections " << server.host.resources().connections() << ", streams "
                          << server.host.resources().streams() << ", memory " << server.host.resources().memory();
    co_await expect_ping_works(honest.host, server.full_addr());
    client->abort();
  });
}

// ---------------------------------------------------------------- gossipsub peers that leave

// Forwards TCP connections to `target` and can cut them all with a reset, as a peer that vanishes
// (power loss, a NAT dropping its mapping) would: the node sees a reset, not a goodbye.
class TcpCutter {
 public:
  TcpCutter(asio::any_io_executor executor, tcp::endpoint target)
      : acceptor_(executor, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), target_(target) {
    asio::co_spawn(executor, accept_loop(), asio::detached);
  }
  ~TcpCutter() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    cut();
  }
  Multiaddr addr() const {
    return Multiaddr::parse("/ip4/127.0.0.1/tcp/" + std::to_string(acceptor_.local_endpoint().port())).value();
  }
  // Resets every forwarded connection, both sides.
  void cut() {
    for (auto& socket : sockets_) {
      boost::system::error_code ignored;
      socket->set_option(asio::socket_base::linger(true, 0), ignored);
      socket->close(ignored);
    }
    sockets_.clear();
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto inbound = std::make_shared<tcp::socket>(co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec)));
      if (ec) co_return;
      auto outbound = std::make_shared<tcp::socket>(co_await dial_tcp(target_));
      sockets_.push_back(inbound);
      sockets_.push_back(outbound);
      auto executor = acceptor_.get_executor();
      asio::co_spawn(executor, pipe(inbound, outbound), asio::detached);
      asio::co_spawn(executor, pipe(outbound, inbound), asio::detached);
    }
  }
  static awaitable<void> pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    std::array<std::uint8_t, 16384> buffer;
    boost::system::error_code ec;
    for (;;) {
      auto n = co_await from->async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(*to, asio::buffer(buffer.data(), n), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    to->shutdown(tcp::socket::shutdown_send, ec);
  }

  tcp::acceptor acceptor_;
  tcp::endpoint target_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
};

struct PubsubPeer {
  explicit PubsubPeer(boost::asio::io_context& io) : node(io, {}, std::nullopt, "") {
    gs::GossipsubOptions options;
    options.router.heartbeat_interval = 100ms;
    service = gs::GossipsubService::enable(node.host, options);
    service->subscribe("t", [](const gs::Message&) {});
  }
  ~PubsubPeer() {
    service->close();
    node.host.close();
  }
  Node node;
  std::shared_ptr<gs::GossipsubService> service;
};

TEST_F(DenialOfServiceTest, GossipsubPeersThatLeaveLeaveNothingBehind) {
  Node hub(io);
  gs::GossipsubOptions options;
  options.router.heartbeat_interval = 100ms;
  auto pubsub = gs::GossipsubService::enable(hub.host, options);
  pubsub->subscribe("t", [](const gs::Message&) {});
  TcpCutter cutter(io.get_executor(), to_tcp_endpoint(hub.addr).value());
  // Named, not temporaries in co_await expressions: g++ 12 destroys those twice.
  const auto hub_direct = hub.full_addr();
  const auto hub_through_cutter =
      cutter.addr().encapsulate(Multiaddr::parse("/p2p/" + hub.host.peer_id().to_string()).value());
  run_with_timeout(io, [&]() -> awaitable<void> {
    const auto streams_before = hub.host.resources().streams();
    const auto memory_before = hub.host.resources().memory();
    std::vector<std::weak_ptr<MuxedConnection>> gone;
    // Rounds of peers joining the mesh and leaving: cleanly (a GoAway and FINs, whose end of
    // stream reaches the hub before the connection is marked closed) and abruptly (a reset).
    for (int round = 0; round < 6; ++round) {
      const bool abrupt = round % 2 == 1;
      std::vector<std::unique_ptr<PubsubPeer>> peers;
      for (int i = 0; i < 4; ++i) {
        peers.push_back(std::make_unique<PubsubPeer>(io));
        const auto& to = abrupt ? hub_through_cutter : hub_direct;
        co_await peers.back()->node.host.connect(to);
      }
      const bool joined = co_await wait_until(
          [&] {
            auto mesh_peers = pubsub->peers("t");
            return std::all_of(peers.begin(), peers.end(), [&](const auto& p) {
              return std::find(mesh_peers.begin(), mesh_peers.end(), p->node.host.peer_id()) != mesh_peers.end();
            });
          },
          10s);
      CO_ASSERT_TRUE(joined);
      for (const auto& p : peers) {
        auto connection = hub.host.find_connection(p->node.host.peer_id());
        CO_ASSERT_TRUE(connection != nullptr);
        gone.push_back(connection);
      }
      if (abrupt) {
        cutter.cut();
      } else {
        for (auto& p : peers) p->node.host.close();
      }
      const bool left = co_await wait_until([&] { return pubsub->peers("t").empty(); }, 10s);
      EXPECT_TRUE(left) << "round " << round << ": the hub still lists " << pubsub->peers("t").size() << " peers";
      peers.clear();
    }
    // Every connection object is gone (no writer parked on it), every /meshsub stream and its
    // grants given back, the memory where it was.
    const bool released = co_await wait_until(
        [&] {
          return std::all_of(gone.begin(), gone.end(), [](const auto& w) { return w.expired(); }) &&
                 protocol_streams(hub.host, std::string(gs::kMeshsubV11)) == 0 &&
                 hub.host.resources().streams() == streams_before && hub.host.resources().memory() == memory_before;
        },
        10s);
    EXPECT_TRUE(released) << "meshsub streams " << protocol_streams(hub.host, std::string(gs::kMeshsubV11))
                          << ", streams " << hub.host.resources().streams() << " (before " << streams_before << ")";
    // A newcomer still joins.
    PubsubPeer newcomer(io);
    co_await newcomer.node.host.connect(hub_direct);
    EXPECT_TRUE(co_await wait_until([&] { return pubsub->peers("t").size() == 1; }, 10s));
    pubsub->close();
  });
}

// ---------------------------------------------------------------- A2A call slots

struct Refused {
  crypto::PeerId caller;
  stargate::agent::A2aRefusal why;
};

TEST_F(DenialOfServiceTest, OneCallerCannotHoldEveryCallSlotAndStallersAreCutOff) {
  Node server(io), mallory(io, {}, std::nullopt, ""), alice(io, {}, std::nullopt, "");
  std::vector<Refused> refused;
  stargate::agent::A2aServeOptions options;
  options.in_flight = {4, 2, 4};
  options.header_timeout = 300ms;
  options.body_timeout = 2s;
  options.on_refused = [&](const crypto::PeerId& caller, stargate::agent::A2aRefusal why) {
    refused.push_back({caller, why});
  };
  stargate::agent::enable_a2a(
      server.host, [](std::string request, ConnectionInfo) -> awaitable<std::string> { co_return request; }, options);
  run_with_timeout(io, [&]() -> awaitable<void> {
    auto connection = co_await mallory.host.connect(server.full_addr());
    std::vector<std::string> protocols{stargate::agent::kA2aProtocol};
    // Two streams that negotiate and then stall: one sends the first byte of a length prefix, the
    // other nothing at all.
    auto stalled_a = co_await mallory.host.open_stream(connection, protocols, true);
    auto stalled_b = co_await mallory.host.open_stream(connection, protocols, true);
    std::uint8_t partial_prefix = 0x85;  // a varint's first byte, more to come
    co_await stalled_a->write_all(BytesView(&partial_prefix, 1));
    // Mallory's share (2) is full: her third call is refused at once, unread...
    auto busy = json::parse(co_await stargate::agent::a2a_round_trip(mallory.host, connection, "{}"));
    EXPECT_EQ(busy.at("error").at("code").as_int64(), static_cast<int>(stargate::agent::ErrorCode::rate_limited));
    // ...while Alice is served.
    auto to_alice = co_await alice.host.connect(server.full_addr());
    EXPECT_EQ(co_await stargate::agent::a2a_round_trip(alice.host, to_alice, "hello"), "hello");
    // The stalled streams are cut off at the header deadline, each a refusal the node strikes.
    const bool cut = co_await wait_until(
        [&] {
          return std::count_if(refused.begin(), refused.end(),
                               [](const Refused& r) { return r.why == stargate::agent::A2aRefusal::too_slow; }) == 2;
        },
        5s);
    EXPECT_TRUE(cut);
    for (const auto& r : refused) EXPECT_EQ(r.caller, mallory.host.peer_id());
    CO_ASSERT_FALSE(refused.empty());
    EXPECT_EQ(refused.front().why, stargate::agent::A2aRefusal::peer_busy);
    Bytes sink(16);
    bool reset = false;
    try {
      co_await stalled_b->read_some(sink);
    } catch (const std::exception&) {
      reset = true;
    }
    EXPECT_TRUE(reset) << "the stalled stream was not reset";
    // Her slots are free again: an honest request from her goes through.
    EXPECT_EQ(co_await stargate::agent::a2a_round_trip(mallory.host, connection, "again"), "again");
  });
}

}  // namespace
}  // namespace stargate::p2p

namespace stargate {
namespace {

using namespace std::chrono_literals;
using stargate::testing::p2p_agent;
using stargate::testing::run_with_timeout;
using stargate::testing::TestNode;
using stargate::testing::wait_until;

TEST(DenialOfServiceNodeTest, ACallerThatStallsIsStruckBackedOffAndDisconnected) {
  boost::asio::io_context io;
  auto options = p2p_agent("dos-stall-callee");
  options.rate_limits.request_header_timeout = 200ms;
  options.rate_limits.strikes_before_backoff = 10;  // one stall weighs ten refusals
  options.rate_limits.backoff = 60s;
  StarGateNode callee(io.get_executor(), options);
  callee.handle("echo", stargate::testing::echo_handler());
  TestNode mallory(io, {}, std::nullopt, "");
  run_with_timeout(io, [&]() -> boost::asio::awaitable<void> {
    co_await callee.start();
    auto target = Multiaddr::parse(callee.get_status().addresses.at(0)).value();
    auto connection = co_await mallory.host.connect(target);
    std::vector<std::string> protocols{agent::kA2aProtocol};
    auto stalled = co_await mallory.host.open_stream(connection, protocols, true);
    // Cut off at the deadline, struck, backed off, and disconnected.
    const bool backed_off = co_await wait_until([&] { return callee.get_status().peers_backed_off == 1; }, 5s);
    EXPECT_TRUE(backed_off);
    EXPECT_EQ(callee.get_status().requests_rate_limited_by["too_slow"], 1u);
    co_await connection->wait_closed();
    // Its new connections are refused while the back-off lasts.
    auto again = co_await mallory.host.connect(target);
    co_await again->wait_closed();
    EXPECT_GE(callee.get_status().connections_refused_backoff, 1u);
    co_await callee.stop();
  });
}

}  // namespace
}  // namespace stargate
