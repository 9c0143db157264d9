#pragma once
// The nats.c-to-Asio event-loop adapter (detail::EventLoop): nats.c's socket read, parsed and
// written on the executor. It is the client's threading model in one class, apart from what
// the client does with the messages. Internal to src/nats.
#include "nats/shared_state.hpp"

#include <nats/nats.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

namespace stargate::nats::detail {

// nats.c's event-loop callbacks (natsOptions_SetEventLoop) on Asio: one EventLoop per nats.c
// connection, so that nats.c reads, parses and writes on the executor instead of its reader
// thread, and a message reaches its handler with no thread hand-off.
//
// nats.c calls attach (connect or reconnect, with the new socket), read/write (add or remove
// interest; under its connection lock) and detach (the connection closed for good) from any of
// its threads or from ours; everything that touches Asio objects is posted to the executor.
// Asio watches a duplicate of nats.c's socket: nats.c closes its own descriptor whenever it likes
// (on another thread, say its ping timer's), and a number that Asio still had registered could
// meanwhile be reused by an unrelated socket. The duplicate is ours, closed on the executor.
class EventLoop : public std::enable_shared_from_this<EventLoop> {
 public:
  EventLoop(std::shared_ptr<Shared> shared, natsConnection* nc)
      : shared_(std::move(shared)), nc_(nc), write_timer_(shared_->executor) {}

  static natsStatus attach(void** user_data, void* loop, natsConnection* nc, natsSock fd);
  static natsStatus read(void* user_data, bool add);
  static natsStatus write(void* user_data, bool add);
  static natsStatus detach(void* user_data);

 private:
  template <class F>
  void post_turn(F f) {
    shared_->post([self = shared_from_this(), f] { f(*self); });
  }

  // --- on the executor ---

  void adopt(int fd, std::uint64_t generation);
  void close_socket();
  bool is_detached();
  void arm_read();
  void on_readable(std::uint64_t generation, boost::system::error_code ec);
  void write_turn();
  void process_write();
  void arm_write();

  std::shared_ptr<Shared> shared_;
  natsConnection* nc_;
  std::atomic<std::uint64_t> generation_{0};  // of the latest attach
  std::atomic<bool> want_read_{false}, want_write_{false};
  std::atomic<bool> write_posted_{false};
  // Held while nats.c processes an event on the executor, so that detach (from another thread)
  // returns only once the connection is no longer used. Recursive: nats.c may detach from
  // inside ProcessReadEvent.
  std::recursive_mutex process_mutex_;
  bool detached_ = false;

  // On the executor.
  std::optional<asio::posix::stream_descriptor> socket_;
  std::uint64_t current_ = 0;  // generation of socket_
  bool reading_ = false, writing_ = false;
  asio::steady_timer write_timer_;
};

}  // namespace stargate::nats::detail
