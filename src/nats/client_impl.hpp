#pragma once
// Client::Impl: the Client's own state on the executor (the workers for nats.c's blocking calls,
// the revival's timer and options, the traffic of replaced connections), shared by the files
// that implement Client's members. Internal to src/nats.
#include "nats/blocking_calls.hpp"
#include "nats/client.hpp"

#include <nats/nats.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace stargate::nats {

namespace asio = boost::asio;

struct Client::Impl {
  explicit Impl(const asio::any_io_executor& executor) : revive_timer(executor) {}
  ~Impl() {
    worker.stop();
    jetstream_worker.stop();
    natsOptions_Destroy(revive_options);
  }
  natsOptions* revive_options = nullptr;  // for replacement connections (retry in the background)
  asio::steady_timer revive_timer;        // on the executor
  bool revive_scheduled = false;          // on the executor
  bool reviving = false;                  // on the executor
  Traffic retired;                        // on the executor: what replaced connections carried
  detail::Worker worker;
  // JetStream's blocking calls (jetstream_call.hpp): each waits for the server's answer, up to its
  // timeout, so they have a thread of their own and never delay connect, flush or the revival.
  detail::Worker jetstream_worker;
};

}  // namespace stargate::nats
