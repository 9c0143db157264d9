#pragma once
// A NATS client for the I/O layer, on nats.c (libnats).
//
// Threading: nats.c is driven by the executor given at create() (natsOptions_SetEventLoop with an
// Asio adapter). Its socket is read and written on the executor's thread; nats.c parses what it
// read there and queues each message on its subscription (a synchronous nats.c subscription,
// bounded by pending_msgs_limit / pending_bytes_limit), and the handlers run right after, on the
// same thread: no thread hand-off between the socket and a handler. publish() appends to nats.c's
// write buffer, written on the executor's next turn (so what one handler publishes leaves in one
// write); it fails when more than 64 MiB still wait to be sent, and a server that does not read
// for write_deadline loses the connection (nats.c reconnects).
// nats.c still has threads of its own, off the message path: connect and flush run on a helper
// thread while the coroutine waits (they block), reconnection on nats.c's reconnect thread, PINGs
// on its timer thread, and connection events on its callback thread; what they report is posted
// to the executor, and nothing a nats.c thread holds points into a destroyed Client.
// The executor must be single-threaded (an io_context run by one thread, or a strand) and must
// outlive the Client; call the Client from that thread. A handler that blocks also stops this
// client's reading (and the executor's other work): hand long work off (co_spawn, a thread pool).
// Over tls://, nats.c waits (poll) on the executor's thread for the rest of a TLS record it has
// begun to read: a server that stalls in the middle of a record holds the thread until PINGs
// (ping_interval x max_pings_out) give the connection up.
//
// Reconnection is nats.c's: forever by default, with subscriptions restored and publishes made
// while disconnected buffered (up to 8 MiB) and sent on reconnect. A token read from token_file
// and the .creds file are read again at every (re)connect, so rotated credentials keep working.
// nats.c gives up (closes the connection for good) when a server refuses the same credentials
// twice in a row, which happens when a server learns a rotated credential before the file is
// rewritten; with max_reconnect = -1 this client then starts a new connection (after
// reconnect_wait, again and again) and subscribes its live subscriptions on it, so the rotation
// still goes through. Only close() (or a finite max_reconnect running out) ends a client.
#include "base/bytes.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::nats {

struct ClientOptions {
  std::vector<std::string> urls;           // nats://, tls:// ; several = a cluster (empty: nats://127.0.0.1:4222)
  std::string name = "stargate";           // connection name shown by the server
  std::string user, password;              // user/password auth
  std::string token;                       // token auth
  std::string token_file;                  // token read from this file at every (re)connect
  std::string creds_file;                  // .creds (JWT + nkey seed), read at every (re)connect
  std::string tls_ca_file;                 // PEM CA bundle to verify tls:// servers (else system default)
  std::string tls_cert_file, tls_key_file; // client certificate for mutual TLS
  std::chrono::milliseconds connect_timeout{2000};  // per server and attempt
  std::chrono::milliseconds reconnect_wait{250};
  // A server that stops reading: after this long with data waiting to be written and the socket
  // not writable, the connection is dropped and nats.c reconnects (0: no deadline). Also bounds
  // nats.c's waits inside a TLS write.
  std::chrono::milliseconds write_deadline{2000};
  // PINGs detect a server that vanished without closing the socket: after max_pings_out
  // unanswered PINGs sent every ping_interval, nats.c reconnects (its defaults: 2 min and 2).
  std::chrono::milliseconds ping_interval{20000};
  int max_pings_out = 2;
  int max_reconnect = -1;                  // -1: forever
  bool retry_on_failed_connect = false;    // connect() returns at once and nats.c keeps trying
  bool randomize_servers = true;           // nats.c shuffles the server list (spreads a cluster's load)
  // A subscriber slower than its publishers: at most this many messages (and bytes) wait in nats.c's
  // queue for one subscription. nats.c fills it as it reads (up to 32 KiB a read) and handlers
  // empty it (at most 64 per subscription and turn of the executor, reading in between). Beyond
  // that, nats.c drops messages and reports a slow consumer (logged; Subscription::dropped()).
  int pending_msgs_limit = 8192;
  int pending_bytes_limit = 64 * 1024 * 1024;
};

struct Message {
  std::string subject;
  std::string reply;            // empty when the publisher expects no reply
  Bytes data;
  bool no_responders = false;   // a server's "503 no responders" status sent to a request's reply
                                // subject when nobody listens on the request's subject (nats.c
                                // keeps only the status: `subject` is then the subscription's)
};

// A received message seen in place, without copying it out of nats.c: the views point into
// nats.c's message and are valid only while the handler runs (copy what must outlive it).
struct MessageRef {
  std::string_view subject;
  std::string_view reply;  // empty when the publisher expects no reply
  BytesView data;
  bool no_responders = false;  // as in Message
};

// What a client published and received through the broker: message bytes (payload and headers,
// as nats.c counts them), not the protocol lines around them (PUB/MSG, subjects, PING/PONG).
struct Traffic {
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t messages_in = 0, messages_out = 0;
};

enum class ConnectionState { connected, disconnected, reconnected, closed };
std::string_view to_string(ConnectionState state);

namespace detail {
struct Shared;
struct SubShared;
struct ClientAccess;  // what the JetStream layer reaches inside (client_access.hpp)
}  // namespace detail

// RAII: unsubscribes when destroyed or reset (also safe after the client closed or was destroyed).
// After unsubscribe() returns, the handler is never invoked again if unsubscribe() ran on the
// client's executor (messages still queued are dropped).
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  void unsubscribe();
  bool active() const;
  const std::string& subject() const;
  // Messages nats.c dropped because this subscriber fell behind (slow consumer).
  std::int64_t dropped() const;

 private:
  friend class Client;
  friend struct detail::ClientAccess;
  explicit Subscription(std::shared_ptr<detail::SubShared> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::SubShared> state_;
};

class Client : public std::enable_shared_from_this<Client> {
  struct Private {};

 public:
  using Handler = std::function<void(Message)>;  // invoked on the executor, never on nats.c threads
  using RefHandler = std::function<void(const MessageRef&)>;  // likewise; the message is freed after it returns

  static std::shared_ptr<Client> create(boost::asio::any_io_executor executor, ClientOptions options);
  Client(Private, boost::asio::any_io_executor executor, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects without blocking the executor (nats.c's blocking connect runs on a helper thread).
  // Throws ErrorException with one line, "cannot connect to NATS at nats://…: <reason>", when no
  // server accepts us (unreachable, refused credentials, bad TLS). With retry_on_failed_connect,
  // returns once the first attempt failed and keeps trying in the background (state callback:
  // `connected` when it succeeds). Throws if options are invalid or connect() was called before.
  boost::asio::awaitable<void> connect();

  // Throws ErrorException when closed, not connected yet, or over max_payload. While reconnecting
  // the message is buffered by nats.c and sent on reconnect.
  void publish(std::string_view subject, BytesView data, std::string_view reply = {});

  Subscription subscribe(const std::string& subject, Handler handler);
  // Queue group: each message goes to one member of the group.
  Subscription subscribe(const std::string& subject, const std::string& queue_group, Handler handler);
  // The handler sees each message in nats.c's own buffer: no copy of the payload (for large
  // payloads that are consumed at once, e.g. decrypted).
  Subscription subscribe_ref(const std::string& subject, RefHandler handler);

  std::string new_inbox();                  // "_INBOX.<unique>"
  std::size_t max_payload() const;          // from the server's INFO; 1 MiB before the first connect
  bool is_connected() const;
  std::string connected_url() const;        // empty when not connected
  // Replaces the previous callback. Invoked on the executor; `connected` after connect() (or, with
  // retry_on_failed_connect, once the background connect succeeds); `disconnected` when the link
  // drops; `reconnected` when it is back (subscriptions restored); `closed` only once final.
  void on_state_change(std::function<void(ConnectionState)> callback);

  // A round trip to the server (PING/PONG): once it completes, the server has processed every
  // subscription and message sent before. Throws ErrorException on timeout or when closed.
  boost::asio::awaitable<void> flush(std::chrono::milliseconds timeout);

  // Closes the connection (idempotent). Subscriptions stop delivering; `closed` is reported.
  void close();
  bool is_closed() const;

  // Times this client replaced a connection nats.c had given up on (see above).
  std::uint64_t connections_replaced() const;
  // Since create(), over every connection this client had (nats.c's natsConnection_GetStats, a
  // copy taken under nats.c's locks; its counters survive reconnects). Also after close().
  Traffic traffic() const;

  const ClientOptions& options() const { return options_; }
  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  struct Impl;
  friend struct detail::ClientAccess;
  std::shared_ptr<detail::SubShared> new_subscription(const std::string& subject, const std::string* queue_group);
  Subscription subscribe_impl(std::shared_ptr<detail::SubShared> state);
  void revive();
  void schedule_revive();

  boost::asio::any_io_executor executor_;
  ClientOptions options_;
  std::shared_ptr<detail::Shared> shared_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stargate::nats
