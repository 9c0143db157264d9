// A Stargate Host dials a js-libp2p node (tests/interop/js_peer.mjs listen): identify both ways,
// ping, a 10 MB echo (SHA-256 compared), 100 concurrent echo streams, and perf against the JS
// perf server. Each test starts its own JS node and stops it at the end, also on failure.
//
// Without tests/interop/node_modules the tests skip, or fail when CI=true.
#include "crypto/sha256.hpp"
#include "p2p/host/standard_protocols.hpp"
#include "p2p/protocols/echo/echo_io.hpp"
#include "p2p/protocols/perf/perf_io.hpp"
#include "p2p/protocols/ping/ping_io.hpp"
#include "integration/host_test_support.hpp"
#include "interop/js_process.hpp"

namespace stargate::p2p {
namespace {

using namespace std::chrono_literals;
using namespace stargate::testing;

class CppDialsJs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = js_packages_missing()) {
      if (running_in_ci()) FAIL() << *why << " (CI=true, so this is not skipped)";
      GTEST_SKIP() << *why;
    }
    js_ = std::make_unique<JsPeer>();
    auto listening = js_->wait_event("listening", 30s);
    ASSERT_TRUE(listening) << "js_peer.mjs printed no listening line within 30 s";
    js_peer_id_ = json_string(*listening, "peer_id");
    ASSERT_FALSE(js_peer_id_.empty());
    auto addrs = json_strings(*listening, "addrs");
    ASSERT_FALSE(addrs.empty());
    std::string text = addrs.front();
    if (text.find("/p2p/") == std::string::npos) text += "/p2p/" + js_peer_id_;
    auto addr = Multiaddr::parse(text);
    ASSERT_TRUE(addr) << "cannot parse " << text;
    js_addr_ = *addr;

    host_ = std::make_unique<Host>(io_.get_executor(), crypto::Ed25519PrivateKey::generate());
    identify_ = enable_standard_protocols(*host_);
  }

  void TearDown() override {
    if (host_) {
      host_->close();
      // Let the host's coroutines see the close before the io_context goes away.
      io_.restart();
      io_.run_for(200ms);
    }
    if (js_) {
      EXPECT_TRUE(js_->running()) << "the js node exited during the test";
      js_->stop();
    }
  }

  boost::asio::io_context io_;
  std::unique_ptr<JsPeer> js_;
  std::string js_peer_id_;
  Multiaddr js_addr_;
  std::unique_ptr<Host> host_;
  std::shared_ptr<identify::IdentifyService> identify_;
};

TEST_F(CppDialsJs, IdentifyBothWays) {
  run_with_timeout(io_, [&]() -> awaitable<void> {
    auto connection = co_await host_->connect(js_addr_);
    EXPECT_EQ(connection->info().remote_peer.to_string(), js_peer_id_);
    auto js = co_await identify_->wait_identified(connection->info().remote_peer, 10s);
    std::cerr << "js agent: " << js.agent_version << ", protocol version: " << js.protocol_version << "\n";
    EXPECT_NE(js.agent_version.find("js-libp2p"), std::string::npos) << js.agent_version;
    EXPECT_TRUE(contains(js.protocols, "/ipfs/ping/1.0.0"));
    EXPECT_TRUE(contains(js.protocols, "/echo/1.0.0"));
    EXPECT_TRUE(contains(js.protocols, "/ipfs/id/1.0.0"));
    EXPECT_TRUE(contains(js.protocols, "/perf/1.0.0"));
    CO_ASSERT_FALSE(js.addrs.empty());
    CO_ASSERT_TRUE(js.observed_addr.has_value());
    EXPECT_EQ(js.observed_addr->to_string().rfind("/ip4/127.0.0.1/tcp/", 0), 0u) << js.observed_addr->to_string();
  });

  // The JS side identified us too.
  std::string us = host_->peer_id().to_string();
  auto seen = js_->wait_event("peer:identify", 10s,
                              [&](const boost::json::object& o) { return json_string(o, "peer_id") == us; });
  ASSERT_TRUE(seen) << "js_peer.mjs printed no peer:identify line for " << us;
  EXPECT_EQ(json_string(*seen, "agent_version").rfind("stargate/", 0), 0u) << json_string(*seen, "agent_version");
  auto protocols = json_strings(*seen, "protocols");
  for (const auto& protocol : host_->protocols()) EXPECT_TRUE(contains(protocols, protocol)) << protocol;
  EXPECT_TRUE(contains(protocols, "/ipfs/ping/1.0.0"));
  EXPECT_TRUE(contains(protocols, "/echo/1.0.0"));
}

TEST_F(CppDialsJs, PingThreeTimes) {
  run_with_timeout(io_, [&]() -> awaitable<void> {
    auto connection = co_await host_->connect(js_addr_);
    std::vector<std::string> protocols{ping::protocol_id};
    auto stream = co_await host_->open_stream(connection, protocols);
    for (int i = 0; i < 3; ++i) {
      auto rtt = co_await ping::round_trip(*stream);
      EXPECT_GT(rtt.count(), 0);
      std::cerr << "ping " << i << ": " << std::chrono::duration<double, std::milli>(rtt).count() << " ms\n";
    }
    co_await stream->close_write();
  });
}

TEST_F(CppDialsJs, EchoTenMegabytesIntact) {
  run_with_timeout(io_, [&]() -> awaitable<void> {
    auto connection = co_await host_->connect(js_addr_);
    auto payload = pseudo_random(10 * 1000 * 1000, 7);
    auto want = crypto::sha256(payload);
    auto start = Clock::now();
    auto echoed = co_await echo_round_trip(*host_, connection, payload);
    std::cerr << "echo 10 MB: " << std::chrono::duration<double, std::milli>(Clock::now() - start).count() << " ms\n";
    EXPECT_EQ(echoed.size(), payload.size());
    EXPECT_EQ(crypto::sha256(echoed), want);
  });
}

TEST_F(CppDialsJs, HundredConcurrentEchoStreams) {
  run_with_timeout(io_, [&]() -> awaitable<void> {
    auto connection = co_await host_->connect(js_addr_);
    auto executor = co_await asio::this_coro::executor;
    int finished = 0;
    int intact = 0;
    std::vector<std::string> errors;
    Signal done(executor);
    for (int i = 0; i < 100; ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> awaitable<void> {
            auto payload = pseudo_random(1000 + static_cast<std::size_t>(i), static_cast<std::uint32_t>(i));
            auto echoed = co_await echo_round_trip(*host_, connection, payload);
            if (echoed == payload) ++intact;
          },
          [&, i](std::exception_ptr e) {
            if (e) {
              try {
                std::rethrow_exception(e);
              } catch (const std::exception& ex) {
                errors.push_back("stream " + std::to_string(i) + ": " + ex.what());
              }
            }
            ++finished;
            done.notify_all();
          });
    }
    while (finished < 100) co_await done.wait();
    EXPECT_EQ(intact, 100);
    EXPECT_TRUE(errors.empty()) << errors.size() << " failed, first: " << errors.front();
    EXPECT_FALSE(connection->is_closed()) << connection->close_reason();
  });
}

TEST_F(CppDialsJs, PerfAgainstJsServer) {
  constexpr std::uint64_t up = 3'000'000, down = 5'000'000;
  run_with_timeout(io_, [&]() -> awaitable<void> {
    auto connection = co_await host_->connect(js_addr_);
    std::vector<std::string> protocols{perf::protocol_id};
    auto stream = co_await host_->open_stream(connection, protocols);
    auto result = co_await perf::run(*stream, up, down);
    EXPECT_EQ(result.uploaded, up);
    EXPECT_EQ(result.downloaded, down);
    std::cerr << "perf: upload " << std::chrono::duration<double, std::milli>(result.upload_time).count()
              << " ms, total " << std::chrono::duration<double, std::milli>(result.total_time).count() << " ms\n";
  });
  // The JS server counted our upload.
  auto line = js_->wait_stderr("perf: received", 10s);
  ASSERT_TRUE(line) << "the js perf server logged nothing";
  EXPECT_NE(line->find("perf: received " + std::to_string(up) + " bytes, sending " + std::to_string(down)),
            std::string::npos)
      << *line;
}

}  // namespace
}  // namespace stargate::p2p
