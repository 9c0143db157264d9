#include "p2p/host/connection_pool_io.hpp"

#include "base/log.hpp"

namespace stargate::p2p {

PoolKeeper::PoolKeeper(asio::any_io_executor executor, pool::PoolConfig config)
    : pool_(config), timer_(executor, Clock::time_point::max()) {}

void PoolKeeper::start() {
  running_ = true;
  std::weak_ptr<PoolKeeper> weak = shared_from_this();
  asio::co_spawn(timer_.get_executor(), [weak]() -> awaitable<void> {
    if (auto self = weak.lock()) co_await self->run();
  }, asio::detached);
}

awaitable<void> PoolKeeper::run() {
  auto self = shared_from_this();
  timer_.expires_at(pool_.next_deadline().value_or(Clock::time_point::max()));
  while (!closed_ && pool_.size() > 0) {
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) break;
    // Woken by the deadline or by rearm(): either way, do what is due and wait for the next one.
    for (const auto& eviction : pool_.poll(Clock::now())) {
      auto it = connections_.find(eviction.id);
      if (it == connections_.end()) continue;
      if (auto connection = it->second.lock()) {
        log::get("p2p")->debug("pool: closing {} connection with {}", pool::to_string(eviction.reason),
                               eviction.peer.to_string());
        ids_.erase(connection.get());
        connection->close();
      }
      connections_.erase(it);
    }
    timer_.expires_at(pool_.next_deadline().value_or(Clock::time_point::max()));
  }
  running_ = false;
}

void PoolKeeper::rearm() {
  if (closed_) return;
  auto next = pool_.next_deadline();
  if (next && *next < timer_.expiry()) timer_.expires_at(*next);
}

pool::ConnectionId PoolKeeper::add(const std::shared_ptr<MuxedConnection>& connection) {
  auto id = next_id_++;
  pool_.add(id, connection->info().remote_peer, connection->info().relayed, Clock::now());
  connections_.emplace(id, connection);
  ids_[connection.get()] = id;
  std::weak_ptr<PoolKeeper> weak = shared_from_this();
  connection->on_streams_changed([weak, id](std::size_t streams) {
    if (auto self = weak.lock()) {
      self->pool_.set_streams(id, streams, Clock::now());
      if (streams == 0) self->rearm();
    }
  });
  if (!running_ && !closed_)
    start();
  else
    rearm();
  return id;
}

void PoolKeeper::remove(pool::ConnectionId id) {
  pool_.remove(id);
  if (pool_.size() == 0) timer_.cancel();  // the timer loop ends
  if (auto it = connections_.find(id); it != connections_.end()) {
    if (auto connection = it->second.lock()) ids_.erase(connection.get());
    connections_.erase(it);
  }
}

bool PoolKeeper::unprotect(const crypto::PeerId& peer, const std::string& tag) {
  bool still = pool_.unprotect(peer, tag);
  if (!still) rearm();  // its connections may be due for eviction now
  return still;
}

void PoolKeeper::hit(const MuxedConnection& connection) {
  auto it = ids_.find(&connection);
  pool_.hit(it == ids_.end() ? 0 : it->second, Clock::now());
}

void PoolKeeper::close() {
  closed_ = true;
  timer_.cancel();
}

}  // namespace stargate::p2p
