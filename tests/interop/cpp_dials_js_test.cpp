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
#include "integration/test_support.hpp"

// Debian ships no compiled Boost.JSON: compile it into this (one) translation unit.
#include <boost/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#ifndef STARGATE_JS_PEER
#error "STARGATE_JS_PEER (path of tests/interop/js_peer.mjs) must be defined"
#endif

extern char** environ;

namespace stargate::p2p {
namespace {

using namespace std::chrono_literals;
using stargate::testing::run_with_timeout;

const std::filesystem::path js_peer_path{STARGATE_JS_PEER};

// Lines from one pipe, collected by a thread; waits are bounded.
class LineReader {
 public:
  LineReader(int fd, std::string echo_prefix) : fd_(fd), echo_prefix_(std::move(echo_prefix)) {
    thread_ = std::thread([this] { run(); });
  }
  ~LineReader() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The first line (from the start) for which `match` is true; nullopt on timeout or end of stream.
  std::optional<std::string> wait_for(const std::function<bool(const std::string&)>& match,
                                      std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::size_t checked = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (; checked < lines_.size(); ++checked) {
        if (match(lines_[checked])) return lines_[checked];
      }
      if (eof_) return std::nullopt;
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size()) {
        return std::nullopt;
      }
    }
  }

  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return {lines_.begin(), lines_.end()};
  }

 private:
  void run() {
    std::string partial;
    char buffer[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      auto n = ::read(fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      partial.append(buffer, static_cast<std::size_t>(n));
      std::size_t pos;
      while ((pos = partial.find('\n')) != std::string::npos) {
        std::string line = partial.substr(0, pos);
        partial.erase(0, pos + 1);
        if (!echo_prefix_.empty()) std::cerr << echo_prefix_ << line << "\n";
        std::lock_guard lock(mutex_);
        lines_.push_back(std::move(line));
        changed_.notify_all();
      }
    }
    std::lock_guard lock(mutex_);
    eof_ = true;
    changed_.notify_all();
  }

  int fd_;
  std::string echo_prefix_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> lines_;
  bool eof_ = false;
};

// `node js_peer.mjs listen --ignore-stdin` as a child process; SIGTERM (then SIGKILL) on destruction.
class JsPeer {
 public:
  JsPeer() {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::string script = js_peer_path.string();
    std::vector<char*> argv{const_cast<char*>("node"), script.data(), const_cast<char*>("listen"),
                            const_cast<char*>("--ignore-stdin"), nullptr};
    int rc = ::posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      pid_ = -1;
      throw std::runtime_error(std::string("posix_spawnp node: ") + std::strerror(rc));
    }
    stdout_ = std::make_unique<LineReader>(out[0], "js stdout: ");
    stderr_ = std::make_unique<LineReader>(err[0], "js stderr: ");
  }
  ~JsPeer() {
    stop();
    stdout_.reset();
    stderr_.reset();
  }
  JsPeer(const JsPeer&) = delete;
  JsPeer& operator=(const JsPeer&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);  // polling a child's exit, bounded by the deadline
    }
    pid_ = -1;
  }

  // True while the child has not exited.
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  // A JSON line from stdout whose "event" is `event` and that satisfies `match`.
  std::optional<boost::json::object> wait_event(const std::string& event, std::chrono::milliseconds timeout,
                                                const std::function<bool(const boost::json::object&)>& match =
                                                    [](const boost::json::object&) { return true; }) {
    std::optional<boost::json::object> found;
    stdout_->wait_for(
        [&](const std::string& line) {
          boost::system::error_code ec;
          auto value = boost::json::parse(line, ec);
          if (ec || !value.is_object()) return false;
          const auto& object = value.as_object();
          const auto* e = object.if_contains("event");
          if (!e || !e->is_string() || e->as_string() != event || !match(object)) return false;
          found = object;
          return true;
        },
        timeout);
    return found;
  }

  std::optional<std::string> wait_stderr(const std::string& needle, std::chrono::milliseconds timeout) {
    return stderr_->wait_for([&](const std::string& line) { return line.find(needle) != std::string::npos; },
                             timeout);
  }

 private:
  pid_t pid_ = -1;
  std::unique_ptr<LineReader> stdout_;
  std::unique_ptr<LineReader> stderr_;
};

std::string json_string(const boost::json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::vector<std::string> json_strings(const boost::json::object& object, const char* key) {
  std::vector<std::string> out;
  const auto* value = object.if_contains(key);
  if (!value || !value->is_array()) return out;
  for (const auto& item : value->as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

Bytes pseudo_random(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// Writes `payload` on a new /echo/1.0.0 stream while reading what comes back, until the peer closes.
awaitable<Bytes> echo_round_trip(Host& host, std::shared_ptr<MuxedConnection> connection, Bytes payload) {
  std::vector<std::string> protocols{echo::protocol_id};
  auto stream = co_await host.open_stream(connection, protocols);
  auto executor = co_await asio::this_coro::executor;
  auto shared_payload = std::make_shared<Bytes>(std::move(payload));
  auto write_error = std::make_shared<std::exception_ptr>();
  auto written = std::make_shared<bool>(false);
  asio::co_spawn(
      executor,
      [stream, shared_payload, written]() -> awaitable<void> {
        co_await stream->write_all(*shared_payload);
        co_await stream->close_write();
        *written = true;
      },
      [write_error](std::exception_ptr e) { *write_error = e; });
  Bytes received;
  Bytes buffer(64 * 1024);
  for (;;) {
    auto n = co_await stream->read_some(buffer);
    if (n == 0) break;
    received.insert(received.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (*write_error) std::rethrow_exception(*write_error);
  EXPECT_TRUE(*written) << "the echo server closed before our upload finished";
  co_return received;
}

class CppDialsJs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(js_peer_path.parent_path() / "node_modules" / "libp2p")) {
      std::string why = (js_peer_path.parent_path() / "node_modules").string() +
                        " is missing; run: (cd " + js_peer_path.parent_path().string() + " && npm ci)";
      const char* ci = std::getenv("CI");
      if (ci && std::string(ci) == "true") FAIL() << why << " (CI=true, so this is not skipped)";
      GTEST_SKIP() << why;
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
