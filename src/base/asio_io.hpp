#pragma once
// The Asio names the I/O code of every layer uses (the p2p host, the NATS client), in one place (as
// libtorrent does), so that a simulated network could stand in for them later. Asio-bound, hence
// the _io name: sans-IO code must not include it (scripts/check_layers.py).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>

namespace stargate::io {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using SystemError = boost::system::system_error;

}  // namespace stargate::io
