#pragma once
// Wakes every coroutine waiting on it. Meant for a single-threaded io_context, where a waiter
// checks its condition and starts waiting without yielding in between, so a wake-up cannot be
// lost: waiters always loop `while (!condition) co_await signal.wait();`.
// Built on a steady_timer that never expires; cancelling its waits is the wake-up.
#include "p2p/host/asio.hpp"

namespace stargate::p2p {

class Signal {
 public:
  explicit Signal(asio::any_io_executor executor) : timer_(executor, Clock::time_point::max()) {}

  void notify_all() { timer_.cancel(); }

  awaitable<void> wait() {
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }

 private:
  asio::steady_timer timer_;
};

}  // namespace stargate::p2p
