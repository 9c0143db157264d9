// Waiting on the executor for nats.c's blocking calls (see blocking_calls.hpp).
#include "nats/blocking_calls.hpp"

namespace stargate::nats::detail {

asio::awaitable<void> wait(std::shared_ptr<Pending> pending) {
  while (!pending->done) co_await pending->wake.wait();
}

void complete(const std::shared_ptr<Shared>& shared, const std::shared_ptr<Pending>& pending,
              natsConnection* connection_if_lost) {
  bool posted = shared->post([pending] {
    pending->done = true;
    pending->wake.notify_all();
  });
  if (!posted && connection_if_lost != nullptr) natsConnection_Destroy(connection_if_lost);
}

}  // namespace stargate::nats::detail
