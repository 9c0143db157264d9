#pragma once
// The client's state that nats.c's threads may touch (detail::Shared): the executor to post to,
// the connection, the subscriptions and the state callback. Every concept of the client (the
// event-loop adapter, nats.c's callbacks, subscriptions, publishing, the revival) works on it, so
// it has a header of its own. Internal to src/nats.
#include "nats/client.hpp"

#include "base/log.hpp"
#include "nats/client_text.hpp"

#include <nats/nats.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace stargate::nats {

namespace asio = boost::asio;

namespace detail {

inline constexpr std::int64_t kDefaultMaxPayload = 1024 * 1024;

// What nats.c's threads may touch. The Client holds it; nats.c's connection callbacks get a raw
// pointer, kept valid by `keep_alive` until the closed callback of every connection made with it
// (the last call nats.c makes with it, after joining its reader, flusher and reconnect threads).
struct Shared : std::enable_shared_from_this<Shared> {
  asio::any_io_executor executor;
  std::shared_ptr<spdlog::logger> log = stargate::log::get("nats");
  std::string description;  // server URLs, redacted
  std::chrono::milliseconds write_deadline{0};
  std::string token_file;
  std::string token;        // the buffer the token handler returns (nats.c connects one at a time)

  std::atomic<natsConnection*> nc{nullptr};
  std::atomic<std::int64_t> max_payload{kDefaultMaxPayload};

  bool revive_enabled = false;          // start a new connection when nats.c gives one up
  std::function<void()> on_given_up;    // posted to the executor then (holds a weak_ptr<Client>)
  std::atomic<std::uint64_t> replaced{0};
  std::atomic<int> consecutive_give_ups{0};
  std::atomic<std::int64_t> last_slow_consumer_log{std::numeric_limits<std::int64_t>::min() / 2};

  std::mutex post_mutex;
  bool gone = false;      // under post_mutex: the Client is gone, post nothing more to the executor

  std::mutex mutex;
  bool detached = false;  // the Client is gone
  bool closing = false;   // close() was called
  bool connect_called = false;
  bool closed_reported = false;
  std::shared_ptr<const std::function<void(ConnectionState)>> state_callback;
  std::vector<std::weak_ptr<SubShared>> subscriptions;
  int connections = 0;                 // nats.c connections whose closed callback is still due
  std::shared_ptr<Shared> keep_alive;  // set while connections > 0

  // Before natsConnection_Connect: its callbacks will get a raw pointer to this.
  void connection_started() {
    std::lock_guard lock(mutex);
    if (connections++ == 0) keep_alive = shared_from_this();
  }
  // After the last callback of a connection (its closed callback, or a Connect that created none).
  std::shared_ptr<Shared> connection_ended_locked() {
    return --connections == 0 ? std::move(keep_alive) : nullptr;
  }
  std::shared_ptr<Shared> connection_ended() {
    std::lock_guard lock(mutex);
    return connection_ended_locked();
  }

  // The subscriptions still alive, held so that they stay alive once the lock is released (the
  // _locked one with `mutex` held by the caller).
  std::vector<std::shared_ptr<SubShared>> live_subscriptions_locked() const;
  std::vector<std::shared_ptr<SubShared>> live_subscriptions() {
    std::lock_guard lock(mutex);
    return live_subscriptions_locked();
  }

  // Posts to the executor unless the Client is gone; true when posted. Safe from any thread, also
  // from nats.c callbacks made under nats.c's connection lock: `post_mutex` is taken last and
  // held for nothing else.
  template <class F>
  bool post(F&& f) {
    std::lock_guard lock(post_mutex);
    if (gone) return false;
    asio::post(executor, std::forward<F>(f));
    return true;
  }

  // On the executor: runs the handlers of messages waiting in nats.c's subscription queues.
  void drain();
  bool drain_posted = false;  // on the executor

  void report(ConnectionState state) {
    if (state == ConnectionState::closed) {
      std::lock_guard lock(mutex);
      if (closed_reported) return;
      closed_reported = true;
    }
    post([self = shared_from_this(), state] {
      std::shared_ptr<const std::function<void(ConnectionState)>> callback;
      {
        std::lock_guard lock(self->mutex);
        if (!self->detached) callback = self->state_callback;
      }
      if (!callback) return;
      try {
        (*callback)(state);
      } catch (const std::exception& e) {
        self->log->error("NATS state callback threw: {}", e.what());
      }
    });
  }

  void refresh_max_payload(natsConnection* connection) {
    auto value = natsConnection_GetMaxPayload(connection);
    if (value > 0) max_payload = value;
  }

  std::string connected_url(natsConnection* connection) const {
    char buffer[512] = {};
    if (natsConnection_GetConnectedUrl(connection, buffer, sizeof buffer) != NATS_OK) return {};
    return redact(buffer);
  }
};

}  // namespace detail

}  // namespace stargate::nats
