#pragma once
// How the JetStream layer calls nats.c's JetStream functions, which block until the server answers
// (a request, up to the call's timeout): on the client's JetStream worker thread, while the
// coroutine that asked waits on the executor, which keeps reading the socket (the answer arrives
// that way). One call at a time per client, in order. Internal to src/nats.
#include "nats/client.hpp"
#include "nats/jetstream_types.hpp"

#include <nats/nats.h>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::nats::detail {

// A JetStream context on the client's current connection, which it retains (so the connection
// outlives a revival that replaces it while a call runs). Made on the executor, used on the worker.
struct JsContext {
  JsContext() = default;
  JsContext(const JsContext&) = delete;
  JsContext& operator=(const JsContext&) = delete;
  ~JsContext() { jsCtx_Destroy(js); }
  jsCtx* js = nullptr;
  natsConnection* nc = nullptr;  // the connection `js` retains
};

// On the executor. `timeout` bounds each request made with it. Throws JetStreamError("<what>: not
// connected") before connect() or after close().
std::shared_ptr<JsContext> js_context(Client& client, std::chrono::milliseconds timeout, std::string_view what);

// Runs `job` on the client's JetStream worker and resumes on the executor once it returned; what it
// threw is rethrown here. The Client must outlive the call (the caller holds it).
boost::asio::awaitable<void> run_off_executor(Client& client, std::function<void()> job);

// The same for a job with a result, handed back on the executor.
template <class T>
boost::asio::awaitable<T> call_off_executor(Client& client, std::function<T()> job) {
  auto result = std::make_shared<std::optional<T>>();
  std::function<void()> wrapped = [result, job = std::move(job)] { result->emplace(job()); };
  co_await run_off_executor(client, std::move(wrapped));
  co_return std::move(**result);
}

// On the worker, right after nats.c failed (its error text is per thread): throws JetStreamError
// "<what>: <why>", in words for a person for the failures that have no text of the server's.
[[noreturn]] void throw_js_error(const std::string& what, natsStatus status, jsErrCode code,
                                 std::chrono::milliseconds timeout);

}  // namespace stargate::nats::detail
