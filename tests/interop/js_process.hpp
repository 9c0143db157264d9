#pragma once
// js_peer.mjs as a child process for interop tests: its JSON event lines on stdout, waited for
// with timeouts, and its exit. Also whether the npm packages are installed (tests skip without
// them, or fail when CI=true).
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef STARGATE_JS_PEER
#error "STARGATE_JS_PEER (path of tests/interop/js_peer.mjs) must be defined"
#endif

extern char** environ;

namespace stargate::testing {

using namespace std::chrono_literals;

inline const std::filesystem::path js_peer_path{STARGATE_JS_PEER};

// Why the js tests cannot run here (node_modules missing), or nullopt when they can.
inline std::optional<std::string> js_packages_missing() {
  if (std::filesystem::is_directory(js_peer_path.parent_path() / "node_modules" / "libp2p")) return std::nullopt;
  return (js_peer_path.parent_path() / "node_modules").string() + " is missing; run: (cd " +
         js_peer_path.parent_path().string() + " && npm ci)";
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

// A test that needs the npm packages: skipped without them, failed without them when CI=true.
class JsInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = js_packages_missing()) {
      if (running_in_ci()) FAIL() << *why << " (CI=true, so this is not skipped)";
      GTEST_SKIP() << *why;
    }
  }
  boost::asio::io_context io_;
};

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

// `node js_peer.mjs <args>` as a child process (default: listen --ignore-stdin); SIGTERM (then
// SIGKILL) on destruction.
class JsPeer {
 public:
  explicit JsPeer(std::vector<std::string> args = {"listen", "--ignore-stdin"}) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::string script = js_peer_path.string();
    std::vector<char*> argv{const_cast<char*>("node"), script.data()};
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
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

inline std::string json_string(const boost::json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

inline std::vector<std::string> json_strings(const boost::json::object& object, const char* key) {
  std::vector<std::string> out;
  const auto* value = object.if_contains(key);
  if (!value || !value->is_array()) return out;
  for (const auto& item : value->as_array()) {
    if (item.is_string()) out.emplace_back(item.as_string());
  }
  return out;
}

inline bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace stargate::testing
