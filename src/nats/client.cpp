#include "nats/client.hpp"

#include "base/log.hpp"
#include "base/result.hpp"

#include <nats/nats.h>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

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

// The most precise text nats.c has for a failed call on this thread.
std::string error_text(natsStatus status) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = (text != nullptr && *text != '\0') ? text : natsStatus_GetText(status);
  if (status == NATS_NO_SERVER && out == natsStatus_GetText(NATS_NO_SERVER)) out = "no server answered (refused or timed out)";
  return out;
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

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

namespace detail {

// What nats.c's threads may touch. The Client holds it; nats.c's connection callbacks get a raw
// pointer, kept valid by `keep_alive` until the closed callback (the last one nats.c makes, after
// it joined its reader, flusher and reconnect threads).
struct Shared : std::enable_shared_from_this<Shared> {
  asio::any_io_executor executor;
  std::shared_ptr<spdlog::logger> log = stargate::log::get("nats");
  std::string description;  // server URLs, redacted
  std::string token_file;
  std::string token;        // the buffer the token handler returns (nats.c connects one at a time)

  std::atomic<natsConnection*> nc{nullptr};
  std::atomic<std::int64_t> max_payload{kDefaultMaxPayload};

  std::mutex mutex;
  bool detached = false;  // the Client is gone: post nothing more to the executor
  bool closing = false;   // close() was called
  std::shared_ptr<const std::function<void(ConnectionState)>> state_callback;
  std::vector<std::weak_ptr<SubShared>> subscriptions;
  std::shared_ptr<Shared> keep_alive;

  // Posts to the executor unless the Client is gone; true when posted.
  template <class F>
  bool post(F&& f) {
    std::lock_guard lock(mutex);
    if (detached) return false;
    asio::post(executor, std::forward<F>(f));
    return true;
  }

  void report(ConnectionState state) {
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

// One subscription's state, shared by the Subscription handle, nats.c's delivery thread (through
// a heap-held shared_ptr released by the subscription's on-complete callback) and the handlers
// posted to the executor.
struct SubShared : std::enable_shared_from_this<SubShared> {
  std::shared_ptr<Shared> client;
  std::string subject;
  std::size_t max_msgs = 0, max_bytes = 0;

  std::mutex mutex;
  std::condition_variable cv;
  natsSubscription* sub = nullptr;  // owned; destroyed by unsubscribe()
  bool active = true;
  bool waiting = false;
  std::shared_ptr<const Client::Handler> handler;
  std::size_t inflight_msgs = 0, inflight_bytes = 0;  // posted to the executor, not yet run

  void stop() {
    std::lock_guard lock(mutex);
    active = false;
    cv.notify_all();
  }

  // On nats.c's delivery thread. Waits while too much is already queued on the executor: the
  // backlog then stays in nats.c's bounded queue, which drops and reports a slow consumer.
  void deliver(Message message) {
    std::size_t cost = message.data.size() + message.subject.size() + message.reply.size();
    {
      std::unique_lock lock(mutex);
      while (active && inflight_msgs > 0 && (inflight_msgs >= max_msgs || inflight_bytes + cost > max_bytes)) {
        waiting = true;
        cv.wait(lock);
      }
      waiting = false;
      if (!active) return;
      ++inflight_msgs;
      inflight_bytes += cost;
    }
    bool posted = client->post([self = shared_from_this(), message = std::move(message), cost]() mutable {
      self->run(std::move(message), cost);
    });
    if (!posted) {
      std::lock_guard lock(mutex);
      --inflight_msgs;
      inflight_bytes -= cost;
    }
  }

  // On the executor.
  void run(Message message, std::size_t cost) {
    std::shared_ptr<const Client::Handler> current;
    {
      std::lock_guard lock(mutex);
      --inflight_msgs;
      inflight_bytes -= cost;
      if (waiting) cv.notify_all();
      if (active) current = handler;
    }
    if (!current) return;
    try {
      (*current)(std::move(message));
    } catch (const std::exception& e) {
      client->log->error("NATS handler for {} threw: {}", subject, e.what());
    }
  }
};

}  // namespace detail

namespace {

using detail::Shared;
using detail::SubShared;

// --- nats.c callbacks (nats.c threads) ---

void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  if (msg == nullptr) return;
  auto& state = *static_cast<std::shared_ptr<SubShared>*>(closure);
  Message message;
  message.subject = natsMsg_GetSubject(msg);
  if (const char* reply = natsMsg_GetReply(msg); reply != nullptr) message.reply = reply;
  auto length = natsMsg_GetDataLength(msg);
  if (const char* data = natsMsg_GetData(msg); data != nullptr && length > 0) {
    auto* bytes = reinterpret_cast<const std::uint8_t*>(data);
    message.data.assign(bytes, bytes + length);
  }
  message.no_responders = natsMsg_IsNoResponders(msg);
  natsMsg_Destroy(msg);
  state->deliver(std::move(message));
}

// After the last message callback of a closed subscription: the closure may go.
void on_subscription_complete(void* closure) { delete static_cast<std::shared_ptr<SubShared>*>(closure); }

void on_connected(natsConnection* nc, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  shared->refresh_max_payload(nc);
  shared->log->info("NATS connected to {}", shared->connected_url(nc));
  shared->report(ConnectionState::connected);
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
  std::shared_ptr<Shared> hold;
  bool closing;
  {
    std::lock_guard lock(shared->mutex);
    closing = shared->closing;
    hold = std::move(shared->keep_alive);
  }
  if (!closing) {
    const char* text = nullptr;
    natsStatus status = natsConnection_GetLastError(nc, &text);
    shared->log->error("NATS connection to {} closed: {}", shared->description,
                       text != nullptr && *text != '\0' ? text : natsStatus_GetText(status));
  }
  shared->report(ConnectionState::closed);
  // `hold` may free `shared` here: nats.c makes no further call with this closure.
}

void on_error(natsConnection* nc, natsSubscription* sub, natsStatus err, void* closure) {
  auto* shared = static_cast<Shared*>(closure);
  if (err == NATS_SLOW_CONSUMER && sub != nullptr) {
    const char* subject = natsSubscription_GetSubject(sub);
    shared->log->warn("NATS slow consumer on {}: messages dropped", subject != nullptr ? subject : "?");
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
  explicit Pending(const asio::any_io_executor& executor) : timer(executor, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool done = false;  // set on the executor
  natsStatus status = NATS_OK;
  std::string error;
  natsConnection* connection = nullptr;
};

asio::awaitable<void> wait(std::shared_ptr<Pending> pending) {
  while (!pending->done) {
    boost::system::error_code ignored;
    co_await pending->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void complete(const std::shared_ptr<Shared>& shared, const std::shared_ptr<Pending>& pending,
              natsConnection* connection_if_lost = nullptr) {
  bool posted = shared->post([pending] {
    pending->done = true;
    pending->timer.cancel();
  });
  if (!posted && connection_if_lost != nullptr) natsConnection_Destroy(connection_if_lost);
}

void check(natsStatus status, const char* what) {
  if (status != NATS_OK) throw ErrorException(std::string("NATS options: ") + what + ": " + error_text(status));
}

}  // namespace

// A helper thread for nats.c's blocking calls (connect, flush), started on first use.
struct Client::Worker {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::thread thread;

  void submit(std::function<void()> job) {
    std::lock_guard lock(mutex);
    jobs.push_back(std::move(job));
    if (!thread.joinable()) thread = std::thread([this] { loop(); });
    cv.notify_one();
  }

  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return stopping || !jobs.empty(); });
        if (jobs.empty()) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      job();
    }
  }

  ~Worker() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
      cv.notify_one();
    }
    if (thread.joinable()) thread.join();
  }
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
  {
    std::lock_guard lock(state_->mutex);
    state_->active = false;
    sub = std::exchange(state_->sub, nullptr);
    handler = std::move(state_->handler);
    state_->cv.notify_all();
  }
  // Sends UNSUB unless the connection is closed; the nats.c object lives on until its delivery
  // thread is done (it holds a reference to it and to the connection).
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
  return std::make_shared<Client>(Private{}, std::move(executor), std::move(options));
}

Client::Client(Private, asio::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>()),
      worker_(std::make_unique<Worker>()) {
  if (options_.urls.empty()) options_.urls.push_back("nats://127.0.0.1:4222");
  shared_->executor = executor_;
  shared_->description = describe(options_.urls);
  shared_->token_file = options_.token_file;
}

Client::~Client() {
  std::shared_ptr<const std::function<void(ConnectionState)>> callback;  // destroyed on this thread
  std::vector<std::shared_ptr<SubShared>> subscriptions;
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
  worker_.reset();  // a connect still running finds the Client gone and destroys its connection
  if (nc != nullptr) natsConnection_Destroy(nc);
}

asio::awaitable<void> Client::connect() {
  auto self = shared_from_this();
  {
    std::lock_guard lock(shared_->mutex);
    if (shared_->closing) throw ErrorException("NATS client is closed");
    if (shared_->keep_alive || shared_->nc.load() != nullptr) throw ErrorException("NATS connect() called twice");
    shared_->keep_alive = shared_;  // for nats.c's callbacks, until its closed callback
  }
  auto release_keep_alive = [this] {
    std::lock_guard lock(shared_->mutex);
    shared_->keep_alive.reset();
  };

  natsOptions* opts = nullptr;
  try {
    if (!options_.token.empty() && !options_.token_file.empty())
      throw ErrorException("NATS options: token and token_file cannot both be set");
    check(natsOptions_Create(&opts), "create");
    std::vector<const char*> servers;
    bool secure = false;
    for (const auto& url : options_.urls) {
      servers.push_back(url.c_str());
      if (url.rfind("tls://", 0) == 0) secure = true;
    }
    check(natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())), "servers");
    check(natsOptions_SetName(opts, options_.name.c_str()), "name");
    check(natsOptions_SetTimeout(opts, options_.connect_timeout.count()), "connect timeout");
    check(natsOptions_SetAllowReconnect(opts, true), "reconnect");
    check(natsOptions_SetMaxReconnect(opts, options_.max_reconnect), "max reconnect");
    check(natsOptions_SetReconnectWait(opts, options_.reconnect_wait.count()), "reconnect wait");
    check(natsOptions_SetNoRandomize(opts, !options_.randomize_servers), "randomize");
    check(natsOptions_SetSendAsap(opts, true), "send asap");
    check(natsOptions_SetMaxPendingMsgs(opts, std::max(1, options_.pending_msgs_limit)), "max pending");
    if (!options_.user.empty())
      check(natsOptions_SetUserInfo(opts, options_.user.c_str(), options_.password.c_str()), "user");
    if (!options_.token.empty()) check(natsOptions_SetToken(opts, options_.token.c_str()), "token");
    if (!options_.token_file.empty()) check(natsOptions_SetTokenHandler(opts, on_token, shared_.get()), "token file");
    if (!options_.creds_file.empty())
      check(natsOptions_SetUserCredentialsFromFiles(opts, options_.creds_file.c_str(), nullptr), "credentials file");
    if (secure || !options_.tls_ca_file.empty() || !options_.tls_cert_file.empty())
      check(natsOptions_SetSecure(opts, true), "TLS");
    if (!options_.tls_ca_file.empty())
      check(natsOptions_LoadCATrustedCertificates(opts, options_.tls_ca_file.c_str()), "TLS CA file");
    if (!options_.tls_cert_file.empty())
      check(natsOptions_LoadCertificatesChain(opts, options_.tls_cert_file.c_str(), options_.tls_key_file.c_str()),
            "TLS certificate");
    check(natsOptions_SetDisconnectedCB(opts, on_disconnected, shared_.get()), "callbacks");
    check(natsOptions_SetReconnectedCB(opts, on_reconnected, shared_.get()), "callbacks");
    check(natsOptions_SetClosedCB(opts, on_closed, shared_.get()), "callbacks");
    check(natsOptions_SetErrorHandler(opts, on_error, shared_.get()), "callbacks");
    if (options_.retry_on_failed_connect)
      check(natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, shared_.get()), "retry");
  } catch (...) {
    natsOptions_Destroy(opts);
    release_keep_alive();
    throw;
  }

  auto pending = std::make_shared<Pending>(executor_);
  worker_->submit([pending, opts, shared = shared_] {
    natsConnection* nc = nullptr;
    pending->status = natsConnection_Connect(&nc, opts);  // copies the options
    if (pending->status != NATS_OK && pending->status != NATS_NOT_YET_CONNECTED)
      pending->error = error_text(pending->status);
    natsOptions_Destroy(opts);
    pending->connection = nc;
    complete(shared, pending, nc);
  });
  co_await wait(pending);

  natsConnection* nc = pending->connection;
  if (nc == nullptr) {
    release_keep_alive();  // no connection, so no closed callback
    throw ErrorException("cannot reach NATS at " + shared_->description + ": " + pending->error);
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
  if (pending->status == NATS_NOT_YET_CONNECTED) {
    shared_->log->warn("NATS at {} not reachable yet; connecting in the background", shared_->description);
  } else {
    shared_->refresh_max_payload(nc);
    shared_->log->info("NATS connected to {} (max_payload {} bytes)", shared_->connected_url(nc),
                       shared_->max_payload.load());
    shared_->report(ConnectionState::connected);
  }
}

void Client::publish(std::string_view subject, BytesView data, std::string_view reply) {
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS publish on " + std::string(subject) + ": not connected");
  if (data.size() > static_cast<std::size_t>(INT_MAX))
    throw ErrorException("NATS publish on " + std::string(subject) + ": payload too large");
  std::string subject_z(subject);
  const void* bytes = data.empty() ? nullptr : data.data();
  auto size = static_cast<int>(data.size());
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
  return subscribe_impl(subject, nullptr, std::move(handler));
}

Subscription Client::subscribe(const std::string& subject, const std::string& queue_group, Handler handler) {
  return subscribe_impl(subject, &queue_group, std::move(handler));
}

Subscription Client::subscribe_impl(const std::string& subject, const std::string* queue_group, Handler handler) {
  auto* nc = shared_->nc.load();
  if (nc == nullptr) throw ErrorException("NATS subscribe to " + subject + ": not connected");
  auto state = std::make_shared<SubShared>();
  state->client = shared_;
  state->subject = subject;
  state->max_msgs = static_cast<std::size_t>(std::max(1, options_.pending_msgs_limit));
  state->max_bytes = static_cast<std::size_t>(std::max(1, options_.pending_bytes_limit));
  state->handler = std::make_shared<const Handler>(std::move(handler));

  std::lock_guard lock(shared_->mutex);  // close() cannot run in between
  if (shared_->closing) throw ErrorException("NATS subscribe to " + subject + ": client closed");
  auto* closure = new std::shared_ptr<SubShared>(state);
  natsSubscription* sub = nullptr;
  natsStatus status = queue_group == nullptr
                          ? natsConnection_Subscribe(&sub, nc, subject.c_str(), on_message, closure)
                          : natsConnection_QueueSubscribe(&sub, nc, subject.c_str(), queue_group->c_str(), on_message,
                                                          closure);
  if (status != NATS_OK) {
    auto text = error_text(status);
    delete closure;
    throw ErrorException("NATS subscribe to " + subject + ": " + text);
  }
  if (natsSubscription_SetOnCompleteCB(sub, on_subscription_complete, closure) != NATS_OK) {
    // The connection closed in between: a delivery may still be running, so the closure stays.
    shared_->log->warn("NATS subscription to {} closed at once", subject);
  }
  natsSubscription_SetPendingLimits(sub, static_cast<int>(state->max_msgs), static_cast<int>(state->max_bytes));
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
  worker_->submit([pending, nc, shared = shared_, ms = std::max<std::int64_t>(1, timeout.count())] {
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
  auto* nc = shared_->nc.load();
  if (nc != nullptr) {
    natsConnection_Close(nc);  // nats.c reports `closed` through on_closed
  } else {
    shared_->report(ConnectionState::closed);
  }
}

}  // namespace stargate::nats
