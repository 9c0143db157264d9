#pragma once
// A CallClock whose time moves only when a test says so, for the cascade's unit tests
// (cascade_test.cpp): no sleeps, no real time, and every alarm fires at exactly its time.
//
// Alarms fire from advance_to(), which the test calls between io_context polls, never inside a
// handler. The cascade's alarms only notify an Asio-based Signal: the waiting coroutine resumes
// in the io_context's next poll, not inside the callback. So advance_to() sets the time to each due
// alarm's, calls it and polls before moving on: what the woken coroutine does (read now(), start
// the next tier) happens at the alarm's time, not at the end of the step. An alarm set for a time
// already past is posted to the io_context ("soon"), as SteadyCallClock's timer would complete.
//
// The registry is shared with the alarms (weakly), so an alarm destroyed after the clock (in a
// coroutine frame the io_context destroys at the end of a test) does no harm.
#include "agent/call_clock.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

namespace stargate::agent::test {

class VirtualClock final : public CallClock {
 public:
  using duration = time_point::duration;

  // Starts well away from the epoch, so that a deadline in the past is still a valid time point.
  explicit VirtualClock(boost::asio::io_context& io, time_point start = time_point{} + std::chrono::hours(1000))
      : io_(io), state_(std::make_shared<State>()) {
    state_->now = start;
  }

  time_point now() const override { return state_->now; }

  std::unique_ptr<Alarm> alarm(time_point when, std::function<void()> fire) override {
    const Key key{when, state_->next_seq++};
    state_->alarms.emplace(key, std::move(fire));
    if (when <= state_->now)
      boost::asio::post(io_, [weak = std::weak_ptr<State>(state_), key] { fire_if_pending(weak, key); });
    return std::make_unique<VirtualAlarm>(state_, key);
  }

  // Moves the time to `t`, firing every alarm due by then in time order (those set for the same
  // time in the order they were set), each at its own time, polling the io_context after each.
  void advance_to(time_point t) {
    io_.poll();
    while (!state_->alarms.empty() && state_->alarms.begin()->first.first <= t) {
      const Key key = state_->alarms.begin()->first;
      state_->now = std::max(state_->now, key.first);
      fire_if_pending(state_, key);
      io_.poll();
    }
    state_->now = std::max(state_->now, t);
    io_.poll();
  }
  void advance(duration d) { advance_to(now() + d); }

  // Alarms set and neither fired nor destroyed.
  std::size_t pending_alarms() const { return state_->alarms.size(); }

 private:
  using Key = std::pair<time_point, std::uint64_t>;
  struct State {
    time_point now;
    std::uint64_t next_seq = 0;
    std::map<Key, std::function<void()>> alarms;
  };

  class VirtualAlarm final : public Alarm {
   public:
    VirtualAlarm(const std::shared_ptr<State>& state, Key key) : state_(state), key_(key) {}
    ~VirtualAlarm() override {
      if (auto state = state_.lock()) state->alarms.erase(key_);
    }

   private:
    std::weak_ptr<State> state_;
    Key key_;
  };

  // Fires an alarm unless it was destroyed (or fired) first; it is unregistered before its call, so
  // a callback may set or destroy alarms.
  static void fire_if_pending(const std::weak_ptr<State>& weak, const Key& key) {
    auto state = weak.lock();
    if (!state) return;
    auto it = state->alarms.find(key);
    if (it == state->alarms.end()) return;
    auto fire = std::move(it->second);
    state->alarms.erase(it);
    fire();
  }

  boost::asio::io_context& io_;
  std::shared_ptr<State> state_;
};

}  // namespace stargate::agent::test
