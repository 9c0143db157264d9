#pragma once
// The time the cascade reads and the alarms it sets, injected so that its deadline split is
// unit-tested on a virtual clock (tests/unit/agent/cascade_test.cpp) and runs on the steady clock
// in a node.
#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace stargate::agent {

class CallClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  // Destroying an alarm before it fires cancels it.
  class Alarm {
   public:
    virtual ~Alarm() = default;
  };
  virtual ~CallClock() = default;
  virtual time_point now() const = 0;
  // Calls `fire` once at `when` (soon when it has passed) unless the alarm is destroyed first.
  virtual std::unique_ptr<Alarm> alarm(time_point when, std::function<void()> fire) = 0;
};

// std::chrono::steady_clock, alarms on Asio timers of `executor`.
class SteadyCallClock final : public CallClock {
 public:
  explicit SteadyCallClock(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::unique_ptr<Alarm> alarm(time_point when, std::function<void()> fire) override;

 private:
  boost::asio::any_io_executor executor_;
};

}  // namespace stargate::agent
