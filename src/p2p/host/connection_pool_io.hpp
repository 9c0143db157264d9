#pragma once
// The connection pool's thin I/O layer: feeds the sans-IO policy (p2p/pool/connection_pool.hpp)
// the host's connections, their stream counts and the time, runs its eviction timer, and closes
// (Yamux GoAway) what it evicts. Owned by the host; single-threaded like the rest of it.
#include "p2p/host/asio.hpp"
#include "p2p/host/muxed_connection.hpp"
#include "p2p/pool/connection_pool.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace stargate::p2p {

class PoolKeeper : public std::enable_shared_from_this<PoolKeeper> {
 public:
  PoolKeeper(asio::any_io_executor executor, pool::PoolConfig config);

  // Tracks a new connection; returns its pool id, for remove() when it closes.
  pool::ConnectionId add(const std::shared_ptr<MuxedConnection>& connection);
  void remove(pool::ConnectionId id);
  void hit(const MuxedConnection& connection);
  void miss() { pool_.miss(); }

  void protect(const crypto::PeerId& peer, const std::string& tag) { pool_.protect(peer, tag); }
  bool unprotect(const crypto::PeerId& peer, const std::string& tag);
  bool is_protected(const crypto::PeerId& peer) const { return pool_.is_protected(peer); }
  pool::PoolStats stats() const { return pool_.stats(); }
  // Stops the timer; connections are left alone (the host closes them).
  void close();

 private:
  // The eviction timer runs only while there are connections, so an idle host leaves its
  // io_context free to return from run().
  void start();
  awaitable<void> run();
  // Brings the timer forward when the policy's next deadline is earlier than it.
  void rearm();

  pool::ConnectionPool pool_;
  asio::steady_timer timer_;
  pool::ConnectionId next_id_ = 1;
  std::unordered_map<pool::ConnectionId, std::weak_ptr<MuxedConnection>> connections_;
  std::unordered_map<const MuxedConnection*, pool::ConnectionId> ids_;
  bool running_ = false;
  bool closed_ = false;
};

}  // namespace stargate::p2p
