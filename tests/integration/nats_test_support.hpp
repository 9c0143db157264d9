#pragma once
// Helpers shared by the NATS client tests: a mailbox that handlers fill and test coroutines drain
// with deadlines, connection-state watching, and a temporary directory.
#include "nats/client.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace stargate::nats::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Values pushed by handlers (on the executor), popped by the test coroutine with a deadline.
template <class T>
class Mailbox {
 public:
  explicit Mailbox(const asio::any_io_executor& executor) : timer_(executor) {}

  void push(T value) {
    items_.push_back(std::move(value));
    timer_.cancel();
  }

  asio::awaitable<std::optional<T>> pop(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    while (items_.empty()) {
      if (Clock::now() >= deadline) co_return std::nullopt;
      timer_.expires_at(deadline);
      boost::system::error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    T value = std::move(items_.front());
    items_.pop_front();
    co_return value;
  }

  // Pops until `wanted` comes; false if the deadline passes first.
  asio::awaitable<bool> wait_for(const T& wanted, std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) co_return false;
      auto value = co_await pop(left);
      if (!value) co_return false;
      if (*value == wanted) co_return true;
    }
  }

  // wait_for, failing the test (without stopping it) when `wanted` does not come.
  asio::awaitable<void> expect(T wanted, std::chrono::milliseconds timeout = 10s) {
    bool seen = co_await wait_for(wanted, timeout);
    if (!seen) ADD_FAILURE() << "expected event did not come within " << timeout.count() << " ms";
  }

  std::size_t size() const { return items_.size(); }

 private:
  std::deque<T> items_;
  asio::steady_timer timer_;
};

using Messages = Mailbox<Message>;
using States = Mailbox<ConnectionState>;

inline std::shared_ptr<States> watch_states(const std::shared_ptr<Client>& client) {
  auto states = std::make_shared<States>(client->executor());
  client->on_state_change([states](ConnectionState s) { states->push(s); });
  return states;
}

// The connect() error message, or "" when it succeeded.
inline asio::awaitable<std::string> connect_error(std::shared_ptr<Client> client) {
  std::string message;
  try {
    co_await client->connect();
  } catch (const ErrorException& e) {
    message = e.what();
  }
  co_return message;
}

inline std::string text_of(const Message& m) { return std::string(as_string(m.data)); }

struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "stargate-nats-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

}  // namespace stargate::nats::test
