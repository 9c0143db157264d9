#pragma once
// Waiting for best-effort work (a goodbye, a flush) at most so long.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace stargate::agent {

// Spawns `op` on `executor` and waits for it at most `limit`: true when it finished in time (an
// error it ended with is logged, as `what`). One still running then is abandoned: it goes on (or
// is destroyed with its io_context), so it must own what it uses.
boost::asio::awaitable<bool> finish_within(boost::asio::any_io_executor executor, std::chrono::milliseconds limit,
                                           boost::asio::awaitable<void> op, std::string what);

}  // namespace stargate::agent
