#pragma once
// Gossipsub over the host's streams (/meshsub/1.1.0, /meshsub/1.0.0, /floodsub/1.0.0): a thin
// coroutine layer around the sans-IO Router. Per peer, one outbound stream carries our RPCs
// (uvarint-length-prefixed) from a bounded queue (an RPC that finds it full is dropped and
// counted), and the peer's inbound stream is read, each RPC decoded under the router's limits. A
// timer drives the heartbeat. One thread: everything runs on the host's executor.
#include "base/signal_io.hpp"
#include "p2p/host/host.hpp"
#include "p2p/protocols/gossipsub/router.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>

namespace stargate::p2p::gossipsub {

struct GossipsubOptions {
  RouterConfig router;
  std::size_t max_queued_rpcs = 256;  // per peer, waiting for the stream
  std::size_t max_dials_per_heartbeat = 4;  // PX peers we try to connect to
};

struct ServiceStats {
  RouterStats router;
  std::uint64_t rpcs_dropped = 0;   // outbound queue full
  std::uint64_t decode_errors = 0;  // malformed or oversized inbound RPCs
  std::uint64_t streams_refused = 0;  // a second inbound stream from one peer
};

class GossipsubService : public std::enable_shared_from_this<GossipsubService> {
 public:
  using MessageHandler = std::function<void(const Message&)>;

  // Registers the handlers and the connection hook and starts the heartbeat. Keep it alive as
  // long as the host; close() it before the host closes.
  static std::shared_ptr<GossipsubService> enable(Host& host, GossipsubOptions options = {});
  GossipsubService(Host& host, GossipsubOptions options);
  ~GossipsubService();

  // One handler per topic (a second subscribe replaces it). Our own messages are not delivered.
  void subscribe(const std::string& topic, MessageHandler handler);
  void unsubscribe(const std::string& topic);
  Result<MessageId> publish(const std::string& topic, Bytes data);
  std::vector<crypto::PeerId> peers(const std::string& topic) const { return router_.peers(topic); }
  std::vector<crypto::PeerId> mesh(const std::string& topic) const { return router_.mesh(topic); }
  ServiceStats stats() const;
  // Waits (at most `timeout`) until every queued RPC has been written to its stream: a node that
  // stops publishes its leave message, drains, then closes. False on timeout.
  awaitable<bool> drain(Clock::duration timeout);
  void close();

 private:
  struct Link {
    explicit Link(asio::any_io_executor executor) : wake(executor) {}
    std::shared_ptr<MuxedStream> out;
    std::deque<Bytes> queue;
    Signal wake;
    bool opening = false;
    bool inbound_open = false;
    bool closed = false;
  };

  void connected(const std::shared_ptr<MuxedConnection>& connection);
  awaitable<void> open_outbound(std::shared_ptr<MuxedConnection> connection);
  awaitable<void> write_loop(crypto::PeerId peer, std::shared_ptr<Link> link);
  awaitable<void> serve_inbound(std::shared_ptr<MuxedStream> stream);
  awaitable<void> heartbeat_loop();
  // Forgets the peer's link: its queue, its writer (woken to end) and our stream; `reopen` tries
  // again on another open connection to the peer (when only our stream failed).
  void drop(const crypto::PeerId& peer, const std::shared_ptr<Link>& link, bool reopen);
  // Carries out what the router queued: RPCs to the peers' queues, messages to the handlers.
  void flush();

  Host& host_;
  GossipsubOptions options_;
  Router router_;
  std::unordered_map<crypto::PeerId, std::shared_ptr<Link>> links_;
  std::unordered_map<std::string, MessageHandler> handlers_;
  asio::steady_timer timer_;
  Signal written_;  // a queued RPC was written (or a link dropped): drain() checks again
  ServiceStats stats_;
  bool flushing_ = false;
  bool closed_ = false;
};

}  // namespace stargate::p2p::gossipsub
