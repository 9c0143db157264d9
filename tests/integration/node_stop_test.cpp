// StarGateNode::stop() is bounded by NodeOptions::stop_timeout (issue 13, "Shutdown is bounded"):
// it returns in time when what it says goodbye to stops answering — a broker that stops reading
// (SIGSTOP: the leave announcement's flush gets no PONG) and a libp2p peer whose io_context is no
// longer run (the gossipsub goodbye is never read).
#include "agent_test_support.hpp"
#include "nats_server.hpp"
#include "test_support.hpp"

#include <future>
#include <thread>

namespace stargate {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using p2p::awaitable;
using namespace stargate::testing;

// nats.c closes its connection synchronously: with a broker that stopped reading that takes about
// 0.5 s, beyond stop_timeout; the rest is slack for a loaded, sanitized build.
constexpr auto kCloseSlack = 800ms;

// Pauses the broker (SIGSTOP: a flush then waits for a PONG that does not come), then stops the
// node: how long stop() took.
awaitable<std::chrono::milliseconds> stop_with_broker_paused(StarGateNode& node, NatsServer& server) {
  server.pause();
  const auto t0 = std::chrono::steady_clock::now();
  co_await node.stop();
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

TEST(NodeStopTest, BoundedWhenTheBrokerAndAPeerStopAnswering) {
  auto server = NatsServer::start();

  // The peer runs on an io_context of its own, on a thread, until it has answered a call; then
  // that io_context is stopped for good: the peer's sockets stay open, nothing is read or written.
  boost::asio::io_context peer_io;
  StarGateNode peer(peer_io.get_executor(), p2p_agent("frozen"));
  peer.handle("echo", echo_handler());
  std::promise<std::string> peer_address;
  boost::asio::co_spawn(
      peer_io,
      [&]() -> awaitable<void> {
        co_await peer.start();
        peer_address.set_value(peer.get_status().addresses.front());
      },
      [&](std::exception_ptr e) {
        if (e) peer_address.set_exception(e);
      });
  auto guard = boost::asio::make_work_guard(peer_io);
  struct PeerThread {
    boost::asio::io_context& io;
    std::thread thread{[this] { io.run(); }};
    void freeze() {
      io.stop();
      if (thread.joinable()) thread.join();
    }
    ~PeerThread() { freeze(); }
  } peer_thread{peer_io};
  auto freeze_peer = [&] { peer_thread.freeze(); };
  auto address = peer_address.get_future();
  if (address.wait_for(30s) != std::future_status::ready) FAIL() << "the peer did not start";
  const std::string peer_addr = address.get();

  boost::asio::io_context io;
  auto options = p2p_agent_with_nats("stopper", server.url());
  options.stop_timeout = 200ms;
  StarGateNode node(io.get_executor(), options);
  std::chrono::milliseconds took{};
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await node.start();
    json::value params = json::object{{"n", 1}};
    auto answer = co_await node.call(peer_addr, "echo", params);
    EXPECT_EQ(answer.at("echo").at("n").as_int64(), 1);
    CO_ASSERT_TRUE(node.get_status().nats_connected);
    freeze_peer();  // the libp2p connection stays open, unanswered
    took = co_await stop_with_broker_paused(node, server);
  });
  // Without the bound: the flush's own 1 s, then nats.c's synchronous close (about 0.5 s with a
  // broker that stopped reading, not covered by stop_timeout). With it: 200 ms + that close.
  EXPECT_LT(took, options.stop_timeout + kCloseSlack) << "stop() took " << took.count() << " ms";
  std::cout << "stop() returned after " << took.count() << " ms (stop_timeout " << options.stop_timeout.count()
            << " ms)\n";
  freeze_peer();
  server.resume();
}

TEST(NodeStopTest, ZeroTimeoutSkipsTheGoodbye) {
  auto server = NatsServer::start();
  boost::asio::io_context io;
  auto options = p2p_agent_with_nats("hasty", server.url());
  options.stop_timeout = 0ms;
  StarGateNode node(io.get_executor(), options);
  std::chrono::milliseconds took{};
  run_with_timeout(io, [&]() -> awaitable<void> {
    co_await node.start();
    took = co_await stop_with_broker_paused(node, server);
  });
  EXPECT_LT(took, kCloseSlack) << "stop() took " << took.count() << " ms";
  server.resume();
}

TEST(NodeStopTest, NegativeTimeoutIsRefused) {
  boost::asio::io_context io;
  auto options = p2p_agent("negative");
  options.stop_timeout = -1ms;
  StarGateNode node(io.get_executor(), options);
  bool refused = false;
  run_with_timeout(io, [&]() -> awaitable<void> {
    try {
      co_await node.start();
    } catch (const std::invalid_argument&) {
      refused = true;
    }
  });
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace stargate
