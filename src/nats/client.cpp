#include "nats/client.hpp"

#include "base/log.hpp"
#include "base/result.hpp"
#include "base/signal_io.hpp"

#include <nats/nats.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

// nats.c's own free function for a message, which natsMsg_Destroy hands to nats.c's garbage
// collector thread (waking it for nearly every message). Exported by libnats but not declared in
// its headers, so declared weak: when a libnats lacks it, natsMsg_Destroy is used instead.
extern "C" void natsMsg_free(void* msg) __attribute__((weak));

namespace stargate::nats {

namespace asio = boost::asio;

std::string_view to_string(ConnectionState state) {
  switch (state) {
    case ConnectionState::connected: return "connected";
    case ConnectionState::disconnected: return "disconnected";
    case ConnectionState::reconnected: return "reconnected";
    case ConnectionState::closed: return "closed";
  }
  return "unknown";
}

namespace {

constexpr std::int64_t kDefaultMaxPayload = 1024 * 1024;
// nats.c's read buffer (and initial write buffer), per connection; its default is 32 KiB.
constexpr int kIoBufferBytes = 256 * 1024;
// Bytes waiting in nats.c's write buffer beyond which publish() fails.
constexpr std::int64_t kMaxUnsentBytes = 64 * 1024 * 1024;

// The most precise text nats.c has for a failed call on this thread, without the "(conn.c:2088): "
// source location nats.c puts in front.
std::string error_text(natsStatus status) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = (text != nullptr && *text != '\0') ? text : natsStatus_GetText(status);
  if (!out.empty() && out.front() == '(') {
    if (auto end = out.find("): "); end != std::string::npos && end < 64) out.erase(0, end + 3);
  }
  return out;
}

// Why a connect failed, in words for a person.
std::string connect_failure(natsStatus status, std::chrono::milliseconds timeout) {
  switch (status) {
    case NATS_NO_SERVER: return "connection refused (or no route to the host)";
    case NATS_TIMEOUT: return "no answer within " + std::to_string(timeout.count()) + " ms";
    case NATS_CONNECTION_AUTH_FAILED: return "credentials refused (" + error_text(status) + ")";
    default: return error_text(status);
  }
}

// URLs for messages and logs, without passwords or tokens (nats://user:pass@host, nats://token@host).
std::string redact(const std::string& url) {
  auto scheme = url.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  auto at = url.find('@', start);
  if (at == std::string::npos) return url;
  auto userinfo = url.substr(start, at - start);
  auto colon = userinfo.find(':');
  std::string hidden = colon == std::string::npos ? "***" : userinfo.substr(0, colon) + ":***";
  return url.substr(0, start) + hidden + url.substr(at);
}

std::string describe(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls) {
    if (!out.empty()) out += ", ";
    out += redact(url);
  }
  return out;
}

Traffic& operator+=(Traffic& total, const Traffic& more) {
  total.bytes_in += more.bytes_in;
  total.bytes_out += more.bytes_out;
  total.messages_in += more.messages_in;
  total.messages_out += more.messages_out;
  return total;
}

// One connection's statistics (zero if nats.c cannot give them).
Traffic traffic_of(natsConnection* nc) {
  Traffic out;
  natsStatistics* stats = nullptr;
  if (natsStatistics_Create(&stats) != NATS_OK) return out;
  if (natsConnection_GetStats(nc, stats) == NATS_OK) {
    std::uint64_t reconnects = 0;
    natsStatistics_GetCounts(stats, &out.messages_in, &out.bytes_in, &out.messages_out, &out.bytes_out, &reconnects);
  }
  natsStatistics_Destroy(stats);
  return out;
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

namespace detail {

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

// One subscription's state, shared by the Subscription handle and the Client. nats.c queues the
// subscription's messages (a synchronous subscription, bounded by its pending limits) while it
// parses what it read on the executor; Shared::drain() takes them from there, on the executor too.
struct SubShared {
  std::shared_ptr<Shared> client;
  std::string subject;
  std::optional<std::string> queue_group;
  std::size_t max_msgs = 0, max_bytes = 0;

  std::mutex mutex;
  natsSubscription* sub = nullptr;  // owned; destroyed by unsubscribe()
  bool active = true;
  std::shared_ptr<const Client::Handler> handler;        // one of these two
  std::shared_ptr<const Client::RefHandler> ref_handler;

  void stop() {
    std::lock_guard lock(mutex);
    active = false;
  }

  // A message taken from nats.c's queue: owned (freed on destruction), or the status of a
  // request nobody answered.
  struct Received {
    natsMsg* msg = nullptr;
    bool no_responders = false;
    Received() = default;
    Received(const Received&) = delete;
    Received& operator=(const Received&) = delete;
    ~Received() { reset(); }
    void reset() {
      if (msg != nullptr) free_msg(std::exchange(msg, nullptr));
      no_responders = false;
    }
  };

  // Takes the next queued message into `out`; false when none (or unsubscribed, or stopped). The
  // lock keeps unsubscribe() from destroying `sub` meanwhile.
  bool next(Received& out) {
    out.reset();
    std::lock_guard lock(mutex);
    if (!active || sub == nullptr) return false;
    for (;;) {
      int queued = 0;
      // Checked first: NextMsg on an empty queue formats an error text (in nats.c's error stack).
      if (natsSubscription_GetPending(sub, &queued, nullptr) != NATS_OK || queued == 0) return false;
      natsMsg* msg = nullptr;
      natsStatus status = natsSubscription_NextMsg(&msg, sub, 0);
      if (status == NATS_OK) {
        out.msg = msg;
        return true;
      }
      if (status == NATS_NO_RESPONDERS) {
        // nats.c consumes the status message and keeps only this: its subject is lost.
        out.no_responders = true;
        return true;
      }
      // Reported once after nats.c dropped messages (also logged by on_error); the queue goes on.
      if (status != NATS_SLOW_CONSUMER) return false;
    }
  }

  // Freed here, on the executor: natsMsg_Destroy would wake nats.c's collector thread, a thread
  // hand-off per message that costs the executor a futex wake-up and frees into its arena from
  // another thread. A message of a plain subscription owns nothing else.
  static void free_msg(natsMsg* msg) {
    if (natsMsg_free != nullptr)
      natsMsg_free(msg);
    else
      natsMsg_Destroy(msg);
  }

  static void take(const Received& in, Message& out) {
    out.no_responders = in.no_responders;
    if (in.msg == nullptr) return;
    natsMsg* msg = in.msg;
    out.subject = natsMsg_GetSubject(msg);
    const char* reply = natsMsg_GetReply(msg);
    out.reply = reply != nullptr ? reply : "";
    auto length = natsMsg_GetDataLength(msg);
    const auto* data = reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg));
    if (data != nullptr && length > 0) out.data.assign(data, data + length);
  }

  // On the executor. Frees the message (`received`) before it returns.
  void run(Received& received) {
    std::shared_ptr<const Client::Handler> current;
    std::shared_ptr<const Client::RefHandler> current_ref;
    {
      std::lock_guard lock(mutex);
      if (active) {
        current = handler;
        current_ref = ref_handler;
      }
    }
    try {
      if (current_ref) {
        MessageRef ref;
        if (natsMsg* msg = received.msg) {
          ref.subject = natsMsg_GetSubject(msg);
          if (const char* reply = natsMsg_GetReply(msg)) ref.reply = reply;
          auto length = natsMsg_GetDataLength(msg);
          if (const char* data = natsMsg_GetData(msg); data != nullptr && length > 0)
            ref.data = BytesView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(length));
        } else {
          ref.subject = subject;
        }
        ref.no_responders = received.no_responders;
        (*current_ref)(ref);
      } else if (current) {
        Message message;
        if (received.msg == nullptr) message.subject = subject;
        take(received, message);
        received.reset();  // the payload is copied: free it before the handler runs
        (*current)(std::move(message));
      }
    } catch (const std::exception& e) {
      client->log->error("NATS handler for {} threw: {}", subject, e.what());
    }
    received.reset();
  }
};

// At most this many messages of one subscription per turn of the executor: a flood on one subject
// neither starves the others nor keeps the socket from being read (nats.c then bounds the
// backlog with the pending limits and reports a slow consumer, as it would for a slow thread).
constexpr int kDrainBatch = 64;

void Shared::drain() {
  std::vector<std::shared_ptr<SubShared>> live;
  {
    std::lock_guard lock(mutex);
    if (detached) return;
    live.reserve(subscriptions.size());
    for (auto& weak : subscriptions)
      if (auto state = weak.lock()) live.push_back(std::move(state));
  }
  bool more = false;
  for (auto& state : live) {
    int budget = kDrainBatch;
    SubShared::Received message;
    while (state->next(message)) {
      state->run(message);
      if (--budget == 0) {
        more = true;
        break;
      }
    }
  }
  if (more && !drain_posted) {
    drain_posted = post([self = shared_from_this()] {
      self->drain_posted = false;
      self->drain();
    });
  }
}

}  // namespace detail

namespace {

using detail::Shared;
using detail::SubShared;

// --- nats.c callbacks (nats.c threads) ---

void on_connected(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->log->info("NATS connected to {}", shared->connected_url(nc));
  shared->report(ConnectionState::connected);
}

// A replacement connection (after nats.c gave one up) that connected in the background.
void on_revived(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->consecutive_give_ups = 0;
  shared->log->info("NATS reconnected to {} (new connection)", shared->connected_url(nc));
  shared->report(ConnectionState::reconnected);
}

void on_disconnected(natsConnection*, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  bool closing;
  {
    std::lock_guard lock(shared->mutex);
    closing = shared->closing;
  }
  if (!closing) shared->log->warn("NATS disconnected from {}; reconnecting", shared->description);
  shared->report(ConnectionState::disconnected);
}

void on_reconnected(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->log->info("NATS reconnected to {}", shared->connected_url(nc));
  shared->report(ConnectionState::reconnected);
}

void on_closed(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  std::shared_ptr<Shared> hold;  // may free `shared` on return: nats.c makes no further call with it
  bool closing, current, revive;
  {
    std::lock_guard lock(shared->mutex);
    closing = shared->closing;
    hold = shared->connection_ended_locked();
    current = nc == shared->nc.load();
    revive = current && !closing && shared->revive_enabled;
  }
  if (!current) return;  // a replaced connection being disposed of, or one never adopted
  if (closing) {
    shared->report(ConnectionState::closed);
    return;
  }
  const char* text = nullptr;
  natsStatus status = natsConnection_GetLastError(nc, &text);
  std::string reason = text != nullptr && *text != '\0' ? text : natsStatus_GetText(status);
  if (!revive) {
    shared->log->error("NATS connection to {} closed: {}", shared->description, reason);
    shared->report(ConnectionState::closed);
    return;
  }
  // While a server keeps refusing, this repeats every few reconnect_waits: log the first and
  // then one in 20.
  int count = ++shared->consecutive_give_ups;
  auto level = count == 1 || count % 20 == 0 ? spdlog::level::warn : spdlog::level::debug;
  shared->log->log(level, "NATS gave up the connection to {} ({}; {} time(s) in a row); starting a new one",
                   shared->description, reason, count);
  shared->post([self = shared->shared_from_this()] {
    if (self->on_given_up) self->on_given_up();
  });
}

void on_error(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  if (err == NATS_SLOW_CONSUMER && sub != nullptr) {
    // At most one line a second per client, however often nats.c reports it.
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch()).count();
    auto last = shared->last_slow_consumer_log.load();
    if (now - last < 1'000'000'000 ||
        !shared->last_slow_consumer_log.compare_exchange_strong(last, now))
      return;
    // nats.c 3.4 does not retain `sub` for this callback: it may be freed by now, so it is only
    // compared with the subscriptions we still own (whose nats.c objects are then alive).
    std::string subject = "?";
    int64_t dropped = 0;
    std::vector<std::shared_ptr<SubShared>> subscriptions;
    {
      std::lock_guard lock(shared->mutex);
      for (auto& weak : shared->subscriptions)
        if (auto state = weak.lock()) subscriptions.push_back(std::move(state));
    }
    for (auto& state : subscriptions) {
      std::lock_guard lock(state->mutex);
      if (state->sub == sub) {
        subject = state->subject;
        natsSubscription_GetDropped(state->sub, &dropped);
        break;
      }
    }
    shared->log->warn("NATS slow consumer on {}: {} message(s) dropped so far", subject, dropped);
    return;
  }
  const char* text = nullptr;
  natsConnection_GetLastError(nc, &text);
  shared->log->warn("NATS error: {} ({})", natsStatus_GetText(err), text != nullptr ? text : "");
}

// Read at every (re)connect, on a nats.c thread; an unreadable file gives an empty token, which
// the server refuses (and nats.c tries again).
const char* on_token(void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  std::ifstream in(shared->token_file, std::ios::binary);
  if (!in) {
    shared->log->warn("NATS token file {} cannot be read", shared->token_file);
    shared->token.clear();
    return shared->token.c_str();
  }
  std::ostringstream content;
  content << in.rdbuf();
  shared->token = trim(content.str());
  return shared->token.c_str();
}

// A blocking nats.c call's outcome, waited for on the executor.
struct Pending {
  explicit Pending(const asio::any_io_executor& executor) : wake(executor) {}
  Signal wake;
  bool done = false;  // set on the executor
  natsStatus status = NATS_OK;
  std::string error;
  natsConnection* connection = nullptr;
};

asio::awaitable<void> wait(std::shared_ptr<Pending> pending) {
  while (!pending->done) co_await pending->wake.wait();
}

void complete(const std::shared_ptr<Shared>& shared, const std::shared_ptr<Pending>& pending,
              natsConnection* connection_if_lost = nullptr) {
  bool posted = shared->post([pending] {
    pending->done = true;
    pending->wake.notify_all();
  });
  if (!posted && connection_if_lost != nullptr) natsConnection_Destroy(connection_if_lost);
}

void check(natsStatus status, const char* what) {
  if (status != NATS_OK) throw ErrorException(std::string("NATS options: ") + what + ": " + error_text(status));
}

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

  static natsStatus attach(void** user_data, void* loop, natsConnection* nc, natsSock fd) {
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

  static natsStatus read(void* user_data, bool add) {
    auto& self = *static_cast<std::shared_ptr<EventLoop>*>(user_data);
    // Only ever a removal in practice (attach starts reading): a wait still armed finds the
    // interest gone and stops.
    self->want_read_ = add;
    if (add) self->post_turn([](EventLoop& loop) { loop.arm_read(); });
    return NATS_OK;
  }

  static natsStatus write(void* user_data, bool add) {
    auto& self = *static_cast<std::shared_ptr<EventLoop>*>(user_data);
    self->want_write_ = add;
    // Written on the next turn of the executor: every publish made by the running handler goes
    // out in one write.
    if (add && !self->write_posted_.exchange(true)) {
      if (!self->shared_->post([self = self] { self->write_turn(); })) self->write_posted_ = false;
    }
    return NATS_OK;
  }

  static natsStatus detach(void* user_data) {
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

 private:
  template <class F>
  void post_turn(F f) {
    shared_->post([self = shared_from_this(), f] { f(*self); });
  }

  // --- on the executor ---

  void adopt(int fd, std::uint64_t generation) {
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

  void close_socket() {
    write_timer_.cancel();
    reading_ = writing_ = false;
    current_ = 0;  // waits still pending complete as stale
    if (socket_) {
      boost::system::error_code ignored;
      socket_->close(ignored);
      socket_.reset();
    }
  }

  bool is_detached() {
    std::lock_guard lock(process_mutex_);
    return detached_;
  }

  void arm_read() {
    if (reading_ || !socket_ || !want_read_) return;
    reading_ = true;
    socket_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this(), generation = current_](boost::system::error_code ec) {
                          self->on_readable(generation, ec);
                        });
  }

  void on_readable(std::uint64_t generation, boost::system::error_code ec) {
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

  void write_turn() {
    write_posted_ = false;
    if (!want_write_ || writing_) return;
    process_write();
    if (want_write_) arm_write();  // the socket took only part of it
  }

  void process_write() {
    std::lock_guard lock(process_mutex_);
    if (!detached_) natsConnection_ProcessWriteEvent(nc_);  // removes the interest once all is sent
  }

  void arm_write() {
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

// Subscribes `state` on `nc`: a synchronous subscription, whose queue Shared::drain() empties on
// the executor. Returns the status; the subscription in `out`.
natsStatus subscribe_on(natsConnection* nc, const std::shared_ptr<SubShared>& state, natsSubscription** out) {
  natsSubscription* sub = nullptr;
  natsStatus status = state->queue_group
                          ? natsConnection_QueueSubscribeSync(&sub, nc, state->subject.c_str(), state->queue_group->c_str())
                          : natsConnection_SubscribeSync(&sub, nc, state->subject.c_str());
  if (status != NATS_OK) return status;
  natsSubscription_SetPendingLimits(sub, static_cast<int>(state->max_msgs), static_cast<int>(state->max_bytes));
  *out = sub;
  return NATS_OK;
}

}  // namespace

struct Client::Impl {
  explicit Impl(const asio::any_io_executor& executor) : revive_timer(executor) {}
  ~Impl() {
    worker.stop();
    natsOptions_Destroy(revive_options);
  }
  natsOptions* revive_options = nullptr;  // for replacement connections (retry in the background)
  asio::steady_timer revive_timer;        // on the executor
  bool revive_scheduled = false;          // on the executor
  bool reviving = false;                  // on the executor
  Traffic retired;                        // on the executor: what replaced connections carried
  Worker worker;
};

// --- Subscription ---

Subscription::Subscription(Subscription&& other) noexcept : state_(std::move(other.state_)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    state_ = std::move(other.state_);
  }
  return *this;
}

Subscription::~Subscription() { unsubscribe(); }

void Subscription::unsubscribe() {
  if (!state_) return;
  natsSubscription* sub = nullptr;
  std::shared_ptr<const Client::Handler> handler;  // destroyed here, on the caller's thread
  std::shared_ptr<const Client::RefHandler> ref_handler;
  {
    std::lock_guard lock(state_->mutex);
    state_->active = false;
    sub = std::exchange(state_->sub, nullptr);
    handler = std::move(state_->handler);
    ref_handler = std::move(state_->ref_handler);
  }
  // Sends UNSUB unless the connection is closed; messages still queued in nats.c are dropped.
  if (sub != nullptr) natsSubscription_Destroy(sub);
  state_.reset();
}

bool Subscription::active() const {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return state_->active;
}

const std::string& Subscription::subject() const {
  static const std::string empty;
  return state_ ? state_->subject : empty;
}

std::int64_t Subscription::dropped() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->mutex);
  std::int64_t dropped = 0;
  if (state_->sub != nullptr && natsSubscription_GetDropped(state_->sub, &dropped) != NATS_OK) return 0;
  return dropped;
}

// --- Client ---

std::shared_ptr<Client> Client::create(asio::any_io_executor executor, ClientOptions options) {
  auto client = std::make_shared<Client>(Private{}, std::move(executor), std::move(options));
  client->shared_->on_given_up = [weak = std::weak_ptr<Client>(client)] {
    if (auto self = weak.lock()) self->schedule_revive();
  };
  return client;
}

Client::Client(Private, asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>()),
      impl_(std::make_unique<Impl>(executor_)) {
  // "a,b" in one entry (as in NATS_URL) is two servers.
  std::vector<std::string> urls;
  for (const auto& entry : options_.urls) {
    std::size_t start = 0;
    for (;;) {
      auto comma = entry.find(',', start);
      auto url = trim(entry.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!url.empty()) urls.push_back(std::move(url));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  options_.urls = urls.empty() ? std::vector<std::string>{"nats://127.0.0.1:4222"} : std::move(urls);
  shared_->executor = executor_;
  shared_->description = describe(options_.urls);
  shared_->token_file = options_.token_file;
  shared_->write_deadline = options_.write_deadline;
  shared_->revive_enabled = options_.max_reconnect < 0;
}

Client::~Client() {
  std::shared_ptr<const std::function<void(ConnectionState)>> callback;  // destroyed on this thread
  std::vector<std::shared_ptr<SubShared>> subscriptions;
  {
    std::lock_guard lock(shared_->post_mutex);
    shared_->gone = true;
  }
  {
    std::lock_guard lock(shared_->mutex);
    shared_->detached = true;
    shared_->closing = true;
    callback = std::move(shared_->state_callback);
    for (auto& weak : shared_->subscriptions)
      if (auto sub = weak.lock()) subscriptions.push_back(std::move(sub));
    shared_->subscriptions.clear();
  }
  for (auto& sub : subscriptions) sub->stop();
  auto* nc = shared_->nc.load();
  // Close first: it kicks out a flush waiting on the worker and joins nats.c's threads.
  if (nc != nullptr) natsConnection_Close(nc);
  // Runs what is queued (destroying replaced connections); a connect still running finds the
  // Client gone and destroys its connection.
  impl_->worker.stop();
  if (nc != nullptr) natsConnection_Destroy(nc);
  impl_.reset();
}

namespace {

// nats.c options from ours. `replacement`: for connections that replace one nats.c gave up,
// which always retry in the background.
natsOptions* build_options(const ClientOptions& o, Shared* shared, bool replacement) {
  natsOptions* opts = nullptr;
  try {
    if (!o.token.empty() && !o.token_file.empty())
      throw ErrorException("NATS options: token and token_file cannot both be set");
    check(natsOptions_Create(&opts), "create");
    std::vector<const char*> servers;
    bool secure = false;
    for (const auto& url : o.urls) {
      servers.push_back(url.c_str());
      if (url.rfind("tls://", 0) == 0) secure = true;
    }
    check(natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())), "servers");
    check(natsOptions_SetName(opts, o.name.c_str()), "name");
    check(natsOptions_SetTimeout(opts, o.connect_timeout.count()), "connect timeout");
    check(natsOptions_SetAllowReconnect(opts, true), "reconnect");
    check(natsOptions_SetMaxReconnect(opts, o.max_reconnect), "max reconnect");
    check(natsOptions_SetReconnectWait(opts, o.reconnect_wait.count()), "reconnect wait");
    check(natsOptions_SetNoRandomize(opts, !o.randomize_servers), "randomize");
    check(natsOptions_SetSendAsap(opts, true), "send asap");
    // One read takes a whole 64 KiB message: nats.c then builds it straight from its read buffer
    // instead of gathering it in a buffer of its own, in fewer turns of the executor.
    check(natsOptions_SetIOBufSize(opts, kIoBufferBytes), "I/O buffer size");
    check(natsOptions_SetEventLoop(opts, shared, EventLoop::attach, EventLoop::read, EventLoop::write,
                                   EventLoop::detach),
          "event loop");
    if (o.write_deadline.count() > 0) check(natsOptions_SetWriteDeadline(opts, o.write_deadline.count()), "write deadline");
    if (o.ping_interval.count() > 0) check(natsOptions_SetPingInterval(opts, o.ping_interval.count()), "ping interval");
    if (o.max_pings_out > 0) check(natsOptions_SetMaxPingsOut(opts, o.max_pings_out), "max pings out");
    check(natsOptions_SetMaxPendingMsgs(opts, std::max(1, o.pending_msgs_limit)), "max pending");
    if (!o.user.empty()) check(natsOptions_SetUserInfo(opts, o.user.c_str(), o.password.c_str()), "user");
    if (!o.token.empty()) check(natsOptions_SetToken(opts, o.token.c_str()), "token");
    if (!o.token_file.empty()) check(natsOptions_SetTokenHandler(opts, on_token, shared), "token file");
    if (!o.creds_file.empty())
      check(natsOptions_SetUserCredentialsFromFiles(opts, o.creds_file.c_str(), nullptr), "credentials file");
    if (secure || !o.tls_ca_file.empty() || !o.tls_cert_file.empty()) check(natsOptions_SetSecure(opts, true), "TLS");
    if (!o.tls_ca_file.empty())
      check(natsOptions_LoadCATrustedCertificates(opts, o.tls_ca_file.c_str()), "TLS CA file");
    if (!o.tls_cert_file.empty())
      check(natsOptions_LoadCertificatesChain(opts, o.tls_cert_file.c_str(), o.tls_key_file.c_str()),
            "TLS certificate");
    check(natsOptions_SetDisconnectedCB(opts, on_disconnected, shared), "callbacks");
    check(natsOptions_SetReconnectedCB(opts, on_reconnected, shared), "callbacks");
    check(natsOptions_SetClosedCB(opts, on_closed, shared), "callbacks");
    check(natsOptions_SetErrorHandler(opts, on_error, shared), "callbacks");
    if (replacement)
      check(natsOptions_SetRetryOnFailedConnect(opts, true, on_revived, shared), "retry");
    else if (o.retry_on_failed_connect)
      check(natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, shared), "retry");
  } catch (...) {
    natsOptions_Destroy(opts);
    throw;
  }
  return opts;
}

}  // namespace

asio::awaitable<void> Client::connect() {
  auto self = shared_from_this();
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->closing) throw ErrorException("NATS client is closed");
    if (shared_->connect_called) throw ErrorException("NATS connect() called twice");
    shared_->connect_called = true;
  }
  natsOptions* opts = nullptr;
  try {
    opts = build_options(options_, shared_.get(), false);
    if (shared_->revive_enabled && impl_->revive_options == nullptr)
      impl_->revive_options = build_options(options_, shared_.get(), true);
  } catch (...) {
    std::lock_guard lock(shared_->mutex);
    shared_->connect_called = false;
    throw;
  }

  auto pending = std::make_shared<Pending>(executor_);
  shared_->connection_started();
  impl_->worker.submit([pending, opts, shared = shared_, timeout = options_.connect_timeout] {
    natsConnection* nc = nullptr;
    pending->status = natsConnection_Connect(&nc, opts);  // copies the options
    if (pending->status != NATS_OK && pending->status != NATS_NOT_YET_CONNECTED)
      pending->error = connect_failure(pending->status, timeout);
    natsOptions_Destroy(opts);
    if (nc == nullptr) shared->connection_ended();  // no connection, so no closed callback
    pending->connection = nc;
    complete(shared, pending, nc);
  });
  co_await wait(pending);

  natsConnection* nc = pending->connection;
  if (nc == nullptr) {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->connect_called = false;  // may be tried again
    }
    throw ErrorException("cannot connect to NATS at " + shared_->description + ": " + pending->error);
  }
  bool closing;
  {
    std::lock_guard lock(shared_->mutex);
    closing = shared_->closing;
  }
  if (closing) {  // close() during connect
    natsConnection_Destroy(nc);
    throw ErrorException("NATS client closed while connecting to " + shared_->description);
  }
  shared_->nc = nc;
  if (natsConnection_IsClosed(nc)) {
    // Given up already (a retrying connect refused twice): its closed callback saw no owner.
    if (shared_->revive_enabled) schedule_revive();
    else shared_->report(ConnectionState::closed);
  } else if (pending->status == NATS_NOT_YET_CONNECTED) {
    shared_->log->warn("NATS at {} not reachable yet; connecting in the background", shared_->description);
  } else {
    shared_->refresh_max_payload(nc);
    shared_->log->info("NATS connected to {} (max_payload {} bytes)", shared_->connected_url(nc),
                       shared_->max_payload.load());
    shared_->report(ConnectionState::connected);
  }
}

void Client::schedule_revive() {
  if (is_closed() || impl_->revive_scheduled || impl_->reviving) return;
  impl_->revive_scheduled = true;
  impl_->revive_timer.expires_after(options_.reconnect_wait);
  impl_->revive_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self) return;
    self->impl_->revive_scheduled = false;
    if (!ec) self->revive();
  });
}

// Replaces a connection nats.c gave up on: a new one (retrying in the background), the live
// subscriptions subscribed on it, the old one destroyed on the worker (after any flush using it).
void Client::revive() {
  if (is_closed() || impl_->reviving || impl_->revive_options == nullptr) return;
  impl_->reviving = true;
  auto pending = std::make_shared<Pending>(executor_);
  shared_->connection_started();
  impl_->worker.submit([pending, opts = impl_->revive_options, shared = shared_] {
    natsConnection* nc = nullptr;
    pending->status = natsConnection_Connect(&nc, opts);
    if (pending->status != NATS_OK && pending->status != NATS_NOT_YET_CONNECTED)
      pending->error = error_text(pending->status);
    if (nc == nullptr) shared->connection_ended();
    pending->connection = nc;
    complete(shared, pending, nc);
  });
  asio::co_spawn(executor_, [self = shared_from_this(), pending]() -> asio::awaitable<void> {
    co_await wait(pending);
    self->impl_->reviving = false;
    auto* nc = pending->connection;
    auto& shared = self->shared_;
    if (nc == nullptr) {
      shared->log->debug("NATS replacement connection failed: {}", pending->error);
      self->schedule_revive();
      co_return;
    }
    if (self->is_closed()) {
      natsConnection_Destroy(nc);
      co_return;
    }
    auto* old = shared->nc.exchange(nc);
    ++shared->replaced;
    if (old != nullptr) {
      self->impl_->retired += traffic_of(old);
      self->impl_->worker.submit([old] { natsConnection_Destroy(old); });
    }

    std::vector<std::shared_ptr<SubShared>> subscriptions;
    {
      std::lock_guard lock(shared->mutex);
      for (auto& weak : shared->subscriptions)
        if (auto sub = weak.lock()) subscriptions.push_back(std::move(sub));
    }
    for (auto& state : subscriptions) {
      {
        std::lock_guard lock(state->mutex);
        if (!state->active) continue;
      }
      natsSubscription* sub = nullptr;
      if (natsStatus status = subscribe_on(nc, state, &sub); status != NATS_OK) {
        // Closed again already (still refused): the next replacement subscribes it.
        auto level = status == NATS_CONNECTION_CLOSED ? spdlog::level::debug : spdlog::level::warn;
        shared->log->log(level, "NATS could not subscribe to {} again: {}", state->subject, error_text(status));
        continue;
      }
      natsSubscription* previous = nullptr;
      {
        std::lock_guard lock(state->mutex);
        if (state->active) {
          previous = std::exchange(state->sub, sub);
        } else {
          previous = sub;  // unsubscribed meanwhile
        }
      }
      if (previous != nullptr) natsSubscription_Destroy(previous);
    }

    if (natsConnection_IsClosed(nc)) {
      self->schedule_revive();  // given up before we adopted it: its closed callback saw no owner
    } else if (pending->status == NATS_OK) {
      shared->refresh_max_payload(nc);
      shared->consecutive_give_ups = 0;
      shared->log->info("NATS reconnected to {} (new connection)", shared->connected_url(nc));
      shared->report(ConnectionState::reconnected);
    }
  }, asio::detached);
}

std::uint64_t Client::connections_replaced() const { return shared_->replaced.load(); }

Traffic Client::traffic() const {
  Traffic total = impl_->retired;
  if (auto* nc = shared_->nc.load()) total += traffic_of(nc);
  return total;
}

void Client::publish(std::string_view subject, BytesView data, std::string_view reply) {
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS publish on " + std::string(subject) + ": not connected");
  if (data.size() > static_cast<std::size_t>(INT_MAX))
    throw ErrorException("NATS publish on " + std::string(subject) + ": payload too large");
  std::string subject_z(subject);
  const void* bytes = data.empty() ? nullptr : data.data();
  auto size = static_cast<int>(data.size());
  // nats.c appends to its write buffer, written on the executor's next turn: bounded here, since
  // a server that stopped reading would otherwise let it grow without end.
  if (std::int64_t{natsConnection_Buffered(nc)} + size > kMaxUnsentBytes) {
    natsConnection_ProcessWriteEvent(nc);  // hands the socket what it takes now
    if (auto unsent = natsConnection_Buffered(nc); std::int64_t{unsent} + size > kMaxUnsentBytes)
      throw ErrorException("NATS publish on " + subject_z + ": " + std::to_string(unsent) +
                           " bytes still wait to be sent (the server is not reading)");
  }
  natsStatus status;
  if (reply.empty()) {
    status = natsConnection_Publish(nc, subject_z.c_str(), bytes, size);
  } else {
    std::string reply_z(reply);
    status = natsConnection_PublishRequest(nc, subject_z.c_str(), reply_z.c_str(), bytes, size);
  }
  if (status != NATS_OK) {
    std::string text = status == NATS_MAX_PAYLOAD
                           ? std::to_string(data.size()) + " bytes exceed the server's max_payload of " +
                                 std::to_string(max_payload())
                           : error_text(status);
    throw ErrorException("NATS publish on " + subject_z + ": " + text);
  }
}

Subscription Client::subscribe(const std::string& subject, Handler handler) {
  return subscribe_impl(subject, nullptr, std::move(handler), nullptr);
}

Subscription Client::subscribe_ref(const std::string& subject, RefHandler handler) {
  return subscribe_impl(subject, nullptr, nullptr, std::move(handler));
}

Subscription Client::subscribe(const std::string& subject, const std::string& queue_group, Handler handler) {
  return subscribe_impl(subject, &queue_group, std::move(handler), nullptr);
}

Subscription Client::subscribe_impl(const std::string& subject, const std::string* queue_group, Handler handler,
                                    RefHandler ref_handler) {
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS subscribe to " + subject + ": not connected");
  auto state = std::make_shared<SubShared>();
  state->client = shared_;
  state->subject = subject;
  if (queue_group != nullptr) state->queue_group = *queue_group;
  state->max_msgs = static_cast<std::size_t>(std::max(1, options_.pending_msgs_limit));
  state->max_bytes = static_cast<std::size_t>(std::max(1, options_.pending_bytes_limit));
  if (ref_handler)
    state->ref_handler = std::make_shared<const RefHandler>(std::move(ref_handler));
  else
    state->handler = std::make_shared<const Handler>(std::move(handler));

  std::lock_guard lock(shared_->mutex);  // close() cannot run in between
  if (shared_->closing) throw ErrorException("NATS subscribe to " + subject + ": client closed");
  natsSubscription* sub = nullptr;
  natsStatus status = subscribe_on(nc, state, &sub);
  if (status == NATS_CONNECTION_CLOSED && shared_->revive_enabled) {
    // nats.c gave this connection up and its replacement is on the way: it will subscribe this.
    shared_->log->debug("NATS subscription to {} waits for the replacement connection", subject);
  } else if (status != NATS_OK) {
    throw ErrorException("NATS subscribe to " + subject + ": " + error_text(status));
  }
  {
    std::lock_guard sub_lock(state->mutex);
    state->sub = sub;
  }
  std::erase_if(shared_->subscriptions, [](const auto& weak) { return weak.expired(); });
  shared_->subscriptions.push_back(state);
  return Subscription(std::move(state));
}

std::string Client::new_inbox() {
  natsInbox* inbox = nullptr;
  natsStatus status = natsInbox_Create(&inbox);
  if (status != NATS_OK) throw ErrorException("NATS inbox: " + error_text(status));
  std::string out(inbox);
  natsInbox_Destroy(inbox);
  return out;
}

std::size_t Client::max_payload() const {
  auto* nc = shared_->nc.load();
  if (nc != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED) shared_->refresh_max_payload(nc);
  return static_cast<std::size_t>(shared_->max_payload.load());
}

bool Client::is_connected() const {
  auto* nc = shared_->nc.load();
  return nc != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED;
}

bool Client::is_closed() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->closing;
}

std::string Client::connected_url() const {
  auto* nc = shared_->nc.load();
  return nc != nullptr && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED ? shared_->connected_url(nc)
                                                                                  : std::string();
}

void Client::on_state_change(std::function<void(ConnectionState)> callback) {
  auto next = callback ? std::make_shared<const std::function<void(ConnectionState)>>(std::move(callback)) : nullptr;
  std::lock_guard lock(shared_->mutex);
  std::swap(shared_->state_callback, next);
  // `next` (the previous callback) is destroyed after the lock is released.
}

asio::awaitable<void> Client::flush(std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS flush: not connected");
  auto pending = std::make_shared<Pending>(executor_);
  impl_->worker.submit([pending, nc, shared = shared_, ms = std::max<std::int64_t>(1, timeout.count())] {
    pending->status = natsConnection_FlushTimeout(nc, ms);
    if (pending->status != NATS_OK) pending->error = error_text(pending->status);
    complete(shared, pending);
  });
  co_await wait(pending);
  if (pending->status != NATS_OK) throw ErrorException("NATS flush: " + pending->error);
}

void Client::close() {
  std::vector<std::shared_ptr<SubShared>> subscriptions;
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->closing) return;
    shared_->closing = true;
    for (auto& weak : shared_->subscriptions)
      if (auto sub = weak.lock()) subscriptions.push_back(std::move(sub));
  }
  for (auto& sub : subscriptions) sub->stop();
  impl_->revive_timer.cancel();
  auto* nc = shared_->nc.load();
  if (nc != nullptr && !natsConnection_IsClosed(nc)) {
    natsConnection_Close(nc);  // nats.c reports `closed` through on_closed
  } else {
    shared_->report(ConnectionState::closed);
  }
}

}  // namespace stargate::nats
