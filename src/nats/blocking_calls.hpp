#pragma once
// nats.c's blocking calls (connect, flush, destroying a replaced connection) kept off the
// executor: they run one at a time on a helper thread (Worker), and the coroutine that asked
// waits for the outcome (Pending) on the executor. Used by connect(), flush() and the revival, and
// by the JetStream calls on a worker of their own (jetstream_call.hpp).
// Internal to src/nats.
#include "base/signal_io.hpp"
#include "nats/shared_state.hpp"

#include <nats/nats.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace stargate::nats::detail {

// A blocking nats.c call's outcome, waited for on the executor.
struct Pending {
  explicit Pending(const asio::any_io_executor& executor) : wake(executor) {}
  Signal wake;
  bool done = false;  // set on the executor
  natsStatus status = NATS_OK;
  std::string error;
  natsConnection* connection = nullptr;
};

asio::awaitable<void> wait(std::shared_ptr<Pending> pending);

void complete(const std::shared_ptr<Shared>& shared, const std::shared_ptr<Pending>& pending,
              natsConnection* connection_if_lost = nullptr);

// A helper thread for nats.c's blocking calls (connect, flush, destroying a replaced connection),
// started on first use; jobs run one at a time, in order.
class Worker {
 public:
  void submit(std::function<void()> job) {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    cv_.notify_one();
  }

  // Runs what is queued, then joins.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
  }

  ~Worker() { stop(); }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stargate::nats::detail
