// The Client's lifecycle (create, connect, close, destruction) and what it reports about its
// connection. The other concepts are files of their own, as in nats.c: options_builder (the
// natsOptions), event_loop_adapter (nats.c on the executor), connection_events (nats.c's
// callbacks), subscription, publish, credential_revival, blocking_calls (nats.c's blocking calls
// off the executor).
#include "nats/client.hpp"

#include "base/result.hpp"
#include "nats/blocking_calls.hpp"
#include "nats/client_impl.hpp"
#include "nats/client_text.hpp"
#include "nats/options_builder.hpp"
#include "nats/shared_state.hpp"
#include "nats/subscription_state.hpp"

#include <nats/nats.h>

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace stargate::nats {

namespace asio = boost::asio;

using detail::build_options;
using detail::complete;
using detail::describe;
using detail::error_text;
using detail::Pending;
using detail::Shared;
using detail::SubShared;
using detail::trim;
using detail::wait;

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

// Why a connect failed, in words for a person.
std::string connect_failure(natsStatus status, std::chrono::milliseconds timeout) {
  switch (status) {
    case NATS_NO_SERVER: return "connection refused (or no route to the host)";
    case NATS_TIMEOUT: return "no answer within " + std::to_string(timeout.count()) + " ms";
    case NATS_CONNECTION_AUTH_FAILED: return "credentials refused (" + error_text(status) + ")";
    default: return error_text(status);
  }
}

}  // namespace

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
    subscriptions = shared_->live_subscriptions_locked();
    shared_->subscriptions.clear();
  }
  for (auto& sub : subscriptions) sub->stop();
  auto* nc = shared_->nc.load();
  // Close first: it kicks out a flush or a JetStream request waiting on a worker and joins nats.c's
  // threads.
  if (nc != nullptr) natsConnection_Close(nc);
  // Runs what is queued (destroying replaced connections); a connect still running finds the
  // Client gone and destroys its connection. JetStream calls still queued fail at once (closed).
  impl_->worker.stop();
  impl_->jetstream_worker.stop();
  if (nc != nullptr) natsConnection_Destroy(nc);
  impl_.reset();
}

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
    subscriptions = shared_->live_subscriptions_locked();
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
