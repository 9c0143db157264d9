// The nats.c-to-Asio event-loop adapter (see event_loop_adapter.hpp).
#include "nats/event_loop_adapter.hpp"

#include <exception>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stargate::nats::detail {

natsStatus EventLoop::attach(void** user_data, void* loop, natsConnection* nc, natsSock fd) {
  auto*& holder = *reinterpret_cast<std::shared_ptr<EventLoop>**>(user_data);
  if (holder == nullptr) {
    try {
      holder = new std::shared_ptr<EventLoop>(
          std::make_shared<EventLoop>(static_cast<Shared*>(loop)->shared_from_this(), nc));
    } catch (const std::exception&) {
      return NATS_NO_MEMORY;
    }
  }
  auto self = *holder;
  int mine = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (mine < 0) return NATS_SYS_ERROR;
  self->want_read_ = true;
  auto generation = ++self->generation_;
  if (!self->shared_->post([self, mine, generation] { self->adopt(mine, generation); })) ::close(mine);
  return NATS_OK;
}

natsStatus EventLoop::read(void* user_data, bool add) {
  auto& self = *static_cast<std::shared_ptr<EventLoop>*>(user_data);
  // Only ever a removal in practice (attach starts reading): a wait still armed finds the
  // interest gone and stops.
  self->want_read_ = add;
  if (add) self->post_turn([](EventLoop& loop) { loop.arm_read(); });
  return NATS_OK;
}

natsStatus EventLoop::write(void* user_data, bool add) {
  auto& self = *static_cast<std::shared_ptr<EventLoop>*>(user_data);
  self->want_write_ = add;
  // Written on the next turn of the executor: every publish made by the running handler goes
  // out in one write.
  if (add && !self->write_posted_.exchange(true)) {
    if (!self->shared_->post([self = self] { self->write_turn(); })) self->write_posted_ = false;
  }
  return NATS_OK;
}

natsStatus EventLoop::detach(void* user_data) {
  auto* holder = static_cast<std::shared_ptr<EventLoop>*>(user_data);
  auto self = std::move(*holder);
  delete holder;
  {
    std::lock_guard lock(self->process_mutex_);
    self->detached_ = true;  // nats.c may free the connection once this returns
  }
  // On the executor; inline when the Client is gone (then this runs in its destructor, which is
  // called on the executor's thread or while nothing runs the executor).
  if (!self->shared_->post([self] { self->close_socket(); })) self->close_socket();
  return NATS_OK;
}

// --- on the executor ---

void EventLoop::adopt(int fd, std::uint64_t generation) {
  if (generation != generation_.load() || is_detached()) {
    ::close(fd);  // superseded by a later attach, or closed for good
    return;
  }
  close_socket();
  try {
    socket_.emplace(shared_->executor, fd);
  } catch (const std::exception& e) {
    ::close(fd);
    shared_->log->error("NATS cannot watch its socket: {}", e.what());
    return;
  }
  current_ = generation;
  arm_read();
  if (want_write_) write_turn();
}

void EventLoop::close_socket() {
  write_timer_.cancel();
  reading_ = writing_ = false;
  current_ = 0;  // waits still pending complete as stale
  if (socket_) {
    boost::system::error_code ignored;
    socket_->close(ignored);
    socket_.reset();
  }
}

bool EventLoop::is_detached() {
  std::lock_guard lock(process_mutex_);
  return detached_;
}

void EventLoop::arm_read() {
  if (reading_ || !socket_ || !want_read_) return;
  reading_ = true;
  socket_->async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this(), generation = current_](boost::system::error_code ec) {
                        self->on_readable(generation, ec);
                      });
}

void EventLoop::on_readable(std::uint64_t generation, boost::system::error_code ec) {
  if (generation != current_) return;
  reading_ = false;
  if (ec || !want_read_) return;
  {
    std::lock_guard lock(process_mutex_);
    if (detached_) return;
    natsConnection_ProcessReadEvent(nc_);  // reads once (ioBufSize), parses, queues messages
  }
  shared_->drain();
  if (generation != current_ || !socket_ || !want_read_) return;  // reconnecting or closed meanwhile
  // nats.c reads once per call and Asio's epoll is edge-triggered: what is still unread would
  // raise no new event. Read on, on a later turn (others get theirs in between).
  pollfd pending{socket_->native_handle(), POLLIN, 0};
  if (::poll(&pending, 1, 0) > 0) {
    reading_ = true;
    asio::post(shared_->executor, [self = shared_from_this(), generation] { self->on_readable(generation, {}); });
    return;
  }
  arm_read();
}

void EventLoop::write_turn() {
  write_posted_ = false;
  if (!want_write_ || writing_) return;
  process_write();
  if (want_write_) arm_write();  // the socket took only part of it
}

void EventLoop::process_write() {
  std::lock_guard lock(process_mutex_);
  if (!detached_) natsConnection_ProcessWriteEvent(nc_);  // removes the interest once all is sent
}

void EventLoop::arm_write() {
  if (writing_ || !socket_) return;
  writing_ = true;
  auto generation = current_;
  socket_->async_wait(asio::posix::stream_descriptor::wait_write,
                      [self = shared_from_this(), generation](boost::system::error_code ec) {
                        if (generation != self->current_) return;
                        self->writing_ = false;
                        self->write_timer_.cancel();
                        if (ec || !self->want_write_) return;
                        self->process_write();
                        if (self->want_write_) self->arm_write();
                      });
  // A server that stops reading: nats.c's write deadline does not apply to a non-blocking
  // socket, so this one does. Shutting the socket down makes nats.c see the connection fail
  // (on its next read) and reconnect.
  if (shared_->write_deadline.count() <= 0) return;
  write_timer_.expires_after(shared_->write_deadline);
  write_timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
    if (ec || generation != self->current_ || !self->writing_ || !self->socket_) return;
    self->shared_->log->warn("NATS server {} has not read for {} ms; dropping the connection",
                             self->shared_->description, self->shared_->write_deadline.count());
    ::shutdown(self->socket_->native_handle(), SHUT_RDWR);
  });
}

}  // namespace stargate::nats::detail
