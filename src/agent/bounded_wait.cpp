#include "agent/bounded_wait.hpp"

#include "agent/agent_log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace stargate::agent {

namespace asio = boost::asio;

asio::awaitable<bool> finish_within(asio::any_io_executor executor, std::chrono::milliseconds limit,
                                    asio::awaitable<void> op, std::string what) {
  struct State {
    explicit State(asio::any_io_executor e) : timer(std::move(e)) {}
    asio::steady_timer timer;
    bool done = false;
  };
  auto state = std::make_shared<State>(executor);
  state->timer.expires_after(limit);
  asio::co_spawn(executor, std::move(op), [state, what](std::exception_ptr failure) {
    state->done = true;
    state->timer.cancel();
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      logger()->info("{}: {}", what, e.what());
    }
  });
  while (!state->done) {
    boost::system::error_code ec;
    co_await state->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;  // the time is up
  }
  if (!state->done) logger()->info("{}: not done within {} ms, abandoned", what, limit.count());
  co_return state->done;
}

}  // namespace stargate::agent
