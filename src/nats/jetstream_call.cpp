// JetStream calls off the executor (see jetstream_call.hpp).
#include "nats/jetstream_call.hpp"

#include "nats/blocking_calls.hpp"
#include "nats/client_access.hpp"
#include "nats/client_text.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>

namespace stargate::nats::detail {

std::shared_ptr<JsContext> js_context(Client& client, std::chrono::milliseconds timeout, std::string_view what) {
  auto* nc = ClientAccess::connection(client);
  if (nc == nullptr || client.is_closed()) throw JetStreamError(std::string(what) + ": not connected", 0);
  jsOptions options;
  jsOptions_Init(&options);
  options.Wait = std::max<std::int64_t>(1, timeout.count());
  auto context = std::make_shared<JsContext>();
  if (natsStatus status = natsConnection_JetStream(&context->js, nc, &options); status != NATS_OK)
    throw JetStreamError(std::string(what) + ": " + error_text(status), 0);
  context->nc = nc;
  return context;
}

asio::awaitable<void> run_off_executor(Client& client, std::function<void()> job) {
  auto pending = std::make_shared<Pending>(client.executor());
  auto failure = std::make_shared<std::exception_ptr>();
  ClientAccess::jetstream_worker(client).submit(
      [pending, failure, shared = ClientAccess::shared(client), job = std::move(job)] {
        try {
          job();
        } catch (...) {
          *failure = std::current_exception();
        }
        complete(shared, pending);
      });
  co_await wait(pending);
  if (*failure) std::rethrow_exception(*failure);
}

void throw_js_error(const std::string& what, natsStatus status, jsErrCode code, std::chrono::milliseconds timeout) {
  std::string why;
  switch (status) {
    case NATS_NO_RESPONDERS:
      // nats.c reports JSNotEnabledErr for any request nobody answered.
      why = "nobody answered (no stream captures the subject, or the broker has no JetStream)";
      code = static_cast<jsErrCode>(0);
      break;
    case NATS_TIMEOUT: why = "no answer within " + std::to_string(timeout.count()) + " ms"; break;
    case NATS_CONNECTION_DISCONNECTED:
      why = "the connection dropped before the answer came (the server may have carried the call out)";
      break;
    case NATS_CONNECTION_CLOSED: why = "the client is closed"; break;
    default:
      why = error_text(status);
      if (code != 0) why += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  }
  throw JetStreamError(what + ": " + why, static_cast<int>(code));
}

}  // namespace stargate::nats::detail
