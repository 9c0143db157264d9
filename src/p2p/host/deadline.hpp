#pragma once
// Bounds a step (dial, handshake, negotiation) in time: when the deadline passes first, the
// action runs (typically closing the socket, which fails the pending operation at once).
#include "p2p/host/asio.hpp"

#include <functional>
#include <memory>

namespace stargate::p2p {

class Deadline {
 public:
  Deadline(asio::any_io_executor executor, Clock::duration timeout, std::function<void()> on_expiry)
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
    explicit State(asio::any_io_executor executor) : timer(executor) {}
    asio::steady_timer timer;
    std::function<void()> on_expiry;
    bool expired = false;
  };
  std::shared_ptr<State> state_;
};

}  // namespace stargate::p2p
