#pragma once
// Wakes every coroutine waiting on it. Meant for a single-threaded io_context, where a waiter
// checks its condition and starts waiting without yielding in between, so a wake-up cannot be
// lost: waiters always loop `while (!condition) co_await signal.wait();`.
// Built on a steady_timer that never expires; cancelling its waits is the wake-up.
#include "base/asio_io.hpp"

namespace stargate {

class Signal {
 public:
  explicit Signal(io::asio::any_io_executor executor) : timer_(executor, io::Clock::time_point::max()) {}

  void notify_all() { timer_.cancel(); }

  io::awaitable<void> wait() {
    boost::system::error_code ec;
    co_await timer_.async_wait(io::asio::redirect_error(io::use_awaitable, ec));
  }

 private:
  io::asio::steady_timer timer_;
};

}  // namespace stargate
