#pragma once
// Bounds a step (dial, handshake, negotiation, a request) in time: when the deadline passes first,
// the action runs (typically closing the socket, which fails the pending operation at once).
#include "base/asio_io.hpp"

#include <functional>
#include <memory>
#include <utility>

namespace stargate {

class Deadline {
 public:
  Deadline(io::asio::any_io_executor executor, io::Clock::duration timeout, std::function<void()> on_expiry)
      : state_(std::make_shared<State>(executor)) {
    state_->timer.expires_after(timeout);
    state_->on_expiry = std::move(on_expiry);
    state_->timer.async_wait([state = state_](boost::system::error_code ec) {
      if (!ec && state->on_expiry) {
        state->expired = true;
        std::exchange(state->on_expiry, nullptr)();
      }
    });
  }
  ~Deadline() { cancel(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void cancel() {
    state_->on_expiry = nullptr;
    state_->timer.cancel();
  }
  bool expired() const { return state_->expired; }

 private:
  struct State {
    explicit State(io::asio::any_io_executor executor) : timer(executor) {}
    io::asio::steady_timer timer;
    std::function<void()> on_expiry;
    bool expired = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace stargate
