#include "agent/call_clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace stargate::agent {

namespace {

class TimerAlarm final : public CallClock::Alarm {
 public:
  TimerAlarm(boost::asio::any_io_executor executor, CallClock::time_point when, std::function<void()> fire)
      : timer_(std::move(executor), when) {
    timer_.async_wait([fire = std::move(fire)](boost::system::error_code ec) {
      if (!ec) fire();
    });
  }
  ~TimerAlarm() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<CallClock::Alarm> SteadyCallClock::alarm(time_point when, std::function<void()> fire) {
  return std::make_unique<TimerAlarm>(executor_, when, std::move(fire));
}

}  // namespace stargate::agent
