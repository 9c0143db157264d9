#include "agent/nats_discovery.hpp"

#include "agent/bounded_wait.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stargate::agent {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

awaitable<void> flush_nats(std::shared_ptr<nats::Client> client, std::chrono::milliseconds limit) {
  co_await client->flush(limit);
}

}  // namespace

NatsDiscovery::NatsDiscovery(asio::any_io_executor executor, std::shared_ptr<nats::Client> client,
                             AnnouncementIntake& intake, AnnouncementSigner sign, std::chrono::milliseconds window)
    : executor_(std::move(executor)), client_(std::move(client)), intake_(intake), sign_(std::move(sign)), window_(window) {}

NatsDiscovery::~NatsDiscovery() { close(); }

void NatsDiscovery::start(bool serve) {
  std::weak_ptr<NatsDiscovery> weak = shared_from_this();
  inbox_ = client_->new_inbox();
  auto receive = [weak](const nats::MessageRef& m) {
    if (auto self = weak.lock()) self->intake_.receive(as_string(m.data));
  };
  subscriptions_.push_back(client_->subscribe_ref(inbox_, receive));
  subscriptions_.push_back(client_->subscribe_ref(std::string(kAnnounceSubject), receive));
  if (serve) {
    subscriptions_.push_back(client_->subscribe_ref(std::string(kDiscoverySubject), [weak](const nats::MessageRef& m) {
      auto self = weak.lock();
      if (!self || m.reply.empty()) return;
      if (auto announcement = self->sign_(AnnouncementKind::announce, std::nullopt))
        self->client_->publish(m.reply, as_bytes(*announcement));
    }));
  }
  client_->on_state_change([weak](nats::ConnectionState state) {
    auto self = weak.lock();
    if (!self) return;
    if (state == nats::ConnectionState::reconnected || state == nats::ConnectionState::connected) {
      if (auto announcement = self->sign_(AnnouncementKind::announce, std::nullopt)) self->publish(*announcement);
    }
  });
}

void NatsDiscovery::close() { subscriptions_.clear(); }

void NatsDiscovery::publish(const std::string& announcement) {
  if (up()) client_->publish(std::string(kAnnounceSubject), as_bytes(announcement));
}

awaitable<void> NatsDiscovery::discover(const std::optional<std::string>&) {
  if (!up()) co_return;
  auto self = shared_from_this();
  client_->publish(std::string(kDiscoverySubject), {}, inbox_);
  asio::steady_timer wait(executor_, window_);
  co_await wait.async_wait(asio::use_awaitable);
}

awaitable<void> NatsDiscovery::find(const std::string&) { co_await discover(std::nullopt); }

awaitable<void> NatsDiscovery::leave(const std::string& announcement, std::chrono::milliseconds limit) {
  if (!up()) co_return;
  // Best effort: a broker that is gone cannot carry the goodbye, and stopping must not fail.
  try {
    client_->publish(std::string(kAnnounceSubject), as_bytes(announcement));
    if (limit.count() > 0) co_await finish_within(executor_, limit, flush_nats(client_, limit), "leave announcement not confirmed");
  } catch (const std::exception&) {
  }
}

}  // namespace stargate::agent
