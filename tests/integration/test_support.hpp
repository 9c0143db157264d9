#pragma once
// Runs coroutine-based tests on a real io_context with a deadline, so a hang fails the test
// instead of stalling the suite.
#include "p2p/host/asio.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>

// gtest's ASSERT_* macros `return`, which a coroutine cannot: these fail the test and co_return.
#define CO_ASSERT_TRUE(condition)                              \
  do {                                                         \
    if (!(condition)) {                                        \
      ADD_FAILURE() << "expected true: " #condition;           \
      co_return;                                               \
    }                                                          \
  } while (0)
#define CO_ASSERT_FALSE(condition) CO_ASSERT_TRUE(!(condition))

namespace stargate::testing {

inline void run_with_timeout(boost::asio::io_context& io, std::function<p2p::awaitable<void>()> body,
                             std::chrono::seconds timeout = std::chrono::seconds(60)) {
  std::exception_ptr failure;
  bool finished = false;
  boost::asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    failure = e;
    finished = true;
    io.stop();
  });
  boost::asio::steady_timer deadline(io, timeout);
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec) io.stop();
  });
  io.run();
  io.restart();
  ASSERT_TRUE(finished) << "test timed out after " << timeout.count() << " s";
  if (failure) std::rethrow_exception(failure);
}

}  // namespace stargate::testing
