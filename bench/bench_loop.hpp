#pragma once
// An io_context run by a thread of its own, for the benchmark drivers that put each node on its
// own thread (so that every call pays a cross-thread wake-up, as between processes).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace stargate::bench {

struct Loop {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard = boost::asio::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  ~Loop() {
    guard.reset();
    if (thread.joinable()) thread.join();
  }
};

}  // namespace stargate::bench
