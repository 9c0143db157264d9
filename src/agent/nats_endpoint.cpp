#include "agent/nats_endpoint.hpp"

#include "agent/call_errors.hpp"
#include "agent/agent_log.hpp"
#include "crypto/session_key.hpp"
#include "base/signal_io.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

namespace stargate::agent {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

constexpr std::size_t kKeptRequestBuffer = std::size_t{1} << 20;

}  // namespace

NatsEndpoint::NatsEndpoint(asio::any_io_executor executor, const crypto::Ed25519PrivateKey& identity, std::string agent_id,
                           std::shared_ptr<InboundDispatcher> dispatcher, std::shared_ptr<Rejections> rejections)
    : executor_(std::move(executor)),
      agent_id_(std::move(agent_id)),
      dispatcher_(std::move(dispatcher)),
      rejections_(std::move(rejections)),
      sessions_(crypto::derive_session_static_key(identity), identity) {}

NatsEndpoint::~NatsEndpoint() { close(); }

void NatsEndpoint::close() {
  subscriptions_.clear();
  if (client_) client_->close();
}

awaitable<bool> NatsEndpoint::connect(nats::ClientOptions options, bool optional) {
  options.retry_on_failed_connect = optional;
  client_ = nats::Client::create(executor_, std::move(options));
  try {
    co_await client_->connect();
  } catch (const std::exception& e) {
    if (!optional) throw;
    logger()->warn("{}; NATS is off for this run, calls go over libp2p", e.what());
  }
  if (client_->is_closed()) {
    client_.reset();
    co_return false;
  }
  co_return true;
}

void NatsEndpoint::start(bool serve) {
  std::weak_ptr<NatsEndpoint> weak = shared_from_this();
  inbox_ = client_->new_inbox();
  subscriptions_.push_back(client_->subscribe_ref(inbox_ + ".>", [weak](const nats::MessageRef& m) {
    if (auto self = weak.lock()) self->on_reply(m);
  }));
  if (serve) {
    subscriptions_.push_back(client_->subscribe_ref(std::string(kAgentsSubjectPrefix) + agent_id_, [weak](const nats::MessageRef& m) {
      if (auto self = weak.lock()) self->on_request(m);
    }));
  }
}

awaitable<void> NatsEndpoint::flush(std::chrono::milliseconds limit) {
  if (connected()) co_await client_->flush(limit);
}

// Sealed messages larger than the broker's max_payload travel in chunks (docs/nats-sealed-session.md).
void NatsEndpoint::publish_sealed(const std::string& subject, BytesView wire, const std::string& reply) {
  // The limit applies to the payload alone; keep a small margin anyway.
  std::size_t room = client_->max_payload() > 1024 ? client_->max_payload() - 256 : client_->max_payload();
  if (wire.size() <= room) {
    client_->publish(subject, wire, reply);
    return;
  }
  auto chunks = nats::sealed::split(wire, room, nats::sealed::random_message_id());
  if (!chunks) throw call_error(ErrorCode::payload_too_large, "cannot split message: " + chunks.error().message);
  for (const auto& chunk : *chunks) client_->publish(subject, chunk, reply);
}

// Gathers a chunked message: the whole sealed message, `data` itself or the reassembled bytes
// (kept in `whole`); nullopt while chunks are missing or when one is refused.
std::optional<BytesView> NatsEndpoint::gather(std::string_view sender, BytesView data, Bytes& whole) {
  if (!nats::sealed::is_chunk(data)) return data;
  auto gathered = reassembler_.add(sender, data, std::chrono::steady_clock::now());
  if (!gathered) {
    rejections_->count("chunk_refused");
    logger()->debug("chunk refused: {}", gathered.error().message);
    return std::nullopt;
  }
  if (!*gathered) return std::nullopt;
  whole = std::move(**gathered);
  return BytesView(whole);
}

void NatsEndpoint::publish_plain_error(const std::string& reply, ErrorCode code, const std::string& message) {
  auto body = make_error_response(std::nullopt, RpcError{code, message});
  client_->publish(reply, as_bytes(body));
}

// Sees the message in nats.c's buffer: it is decrypted from there into the session table's buffer
// and parsed from that, so the payload is neither copied nor allocated on the way in.
void NatsEndpoint::on_request(const nats::MessageRef& message) {
  if (message.reply.empty()) return rejections_->count("no_reply_subject");
  Bytes whole;
  auto wire = gather(message.reply, message.data, whole);
  if (!wire) return;
  auto opened = sessions_.open_view(*wire, std::chrono::system_clock::now());
  if (!opened) {
    auto code = opened.error().code;
    rejections_->count(std::string(nats::sealed::to_string(code)));
    // Only a lost session is answered (unauthenticated, so it says nothing secret): the caller
    // then handshakes again. Forged, replayed and stale messages are dropped.
    if (code == nats::sealed::Errc::unknown_session)
      publish_plain_error(std::string(message.reply), ErrorCode::unknown_session, "unknown session: handshake again");
    return;
  }
  std::string reply(message.reply);
  // A streamed call's acknowledgement, cancellation or resume, or a streamed request.
  if (on_stream_frame(*opened, reply)) return;
  // Parsed now: the plaintext lives in the table's buffer only until the next message.
  InboundDispatcher::ParsedRequest request = parse_request(as_string(opened->plaintext));
  nats::sealed::OpenedInfo info = std::move(*opened);
  if (request && request->stream_window) {
    asio::co_spawn(executor_, serve_stream(std::move(info), std::move(request), std::nullopt, std::move(reply)), asio::detached);
    return;
  }
  asio::co_spawn(executor_, serve(std::move(info), std::move(request), std::move(reply)), asio::detached);
}

awaitable<void> NatsEndpoint::serve(nats::sealed::OpenedInfo opened, InboundDispatcher::ParsedRequest request,
                                    std::string reply) {
  auto self = shared_from_this();
  std::optional<Caller> caller;
  if (opened.peer) caller = Caller{opened.peer->agent_id, opened.peer->peer_id, std::nullopt};
  auto response = co_await dispatcher_->respond(std::move(request), std::move(caller));
  if (!client_) co_return;  // closed meanwhile
  // Sealed into the table's buffer and published at once (no co_await in between).
  auto sealed = sessions_.seal_response_view(opened.session, as_bytes(*response), std::chrono::system_clock::now());
  if (!sealed) {
    logger()->warn("cannot seal response: {}", sealed.error().message);
    co_return;
  }
  try {
    publish_sealed(reply, *sealed, {});
  } catch (const std::exception& e) {
    logger()->warn("cannot send response: {}", e.what());
  }
}

// Like on_request: opened from nats.c's buffer into the table's, parsed from there.
void NatsEndpoint::on_reply(const nats::MessageRef& message) {
  Bytes whole;
  auto wire = gather(message.subject, message.data, whole);
  if (!wire) return;
  // <inbox>.c.<call id>: the subject names the call, so even an unauthenticated error can be
  // matched; only "unknown session" is believed from one.
  auto call_id = message.subject.substr(message.subject.rfind('.') + 1);
  auto it = pending_.find(std::string(call_id));
  // A late answer (its call timed out or ended) or a repeated one: nobody waits for it.
  if (it == pending_.end()) return rejections_->count("reply_no_call");
  auto& call = *it->second;
  if (!wire->empty() && wire->front() == '{') {
    auto response = parse_response(as_string(*wire));
    if (response && !response->outcome && response->outcome.error().is(ErrorCode::unknown_session)) {
      call.unknown_session = true;
      call.wake.notify_all();
      if (call.stream) call.stream->path_wake().notify_all();
      return;
    }
    rejections_->count("reply_malformed");  // anything else unsealed is nobody's to believe
    return;
  }
  auto opened = sessions_.open_view(*wire, std::chrono::system_clock::now());
  if (!opened) {
    rejections_->count(std::string("reply_") + std::string(nats::sealed::to_string(opened.error().code)));
    return;
  }
  if (opened->peer_static != call.callee_static) return rejections_->count("reply_from_wrong_peer");
  if (call.stream) return deliver_frame(call, as_string(opened->plaintext));
  auto response = parse_response(as_string(opened->plaintext));
  const std::string* id = response && response->id ? std::get_if<std::string>(&*response->id) : nullptr;
  if (!id || *id != call_id) return rejections_->count("reply_malformed");
  if (response->outcome)
    call.result = std::move(*response->outcome);
  else
    call.error = to_call_error(response->outcome.error());
  call.wake.notify_all();
}

// Seals `text` (a request, or a streamed call's opening) to the callee, registers the call for its
// replies and publishes it at once (no co_await in between: the table's buffer holds the wire).
// The outcome when it could not be sent (final: another tier would fare no better).
std::optional<CallOutcome> NatsEndpoint::send_call(const CallTarget& target, const std::string& call_id, std::string_view text,
                                                  std::shared_ptr<StreamingCall> stream, std::shared_ptr<PendingCall>& pending) {
  if (text.size() > kMaxMessageBytes)
    return CallOutcome::refused(Tier::nats, to_call_error(payload_too_large_error(text.size(), kMaxMessageBytes)));
  auto sealed = sessions_.seal_request_view(*target.session_key, as_bytes(text), std::chrono::system_clock::now(),
                                            target.identity_key);
  if (!sealed)
    return CallOutcome::refused(Tier::nats, call_error(ErrorCode::internal_error, "cannot seal request: " + sealed.error().message));
  pending = std::make_shared<PendingCall>(executor_);
  pending->callee_static = *target.session_key;
  pending->session = sealed->session;
  pending->stream = std::move(stream);
  pending_[call_id] = pending;
  try {
    publish_sealed(std::string(kAgentsSubjectPrefix) + target.agent_id, sealed->wire, inbox_ + ".c." + call_id);
  } catch (const CallError& e) {
    pending_.erase(call_id);
    return CallOutcome::refused(Tier::nats, e);
  }
  return std::nullopt;
}

std::optional<std::string> NatsEndpoint::cannot_reach(const CallTarget& target) const {
  if (target.session_key && !target.agent_id.empty()) return std::nullopt;
  return "not announced with a NATS session key";
}

awaitable<CallOutcome> NatsEndpoint::call(const CallTarget& target, const OutboundCall& call,
                                          std::chrono::steady_clock::time_point give_up_at) {
  auto self = shared_from_this();
  if (call.stream) co_return co_await call_streamed(target, call);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!client_) co_return CallOutcome::failed(Tier::nats, "the broker connection is closed");
    // Serialized into the endpoint's request buffer, sealed into the table's and published at once
    // (no co_await in between): no buffer per call.
    std::string& request = request_buffer_;
    make_request_into(request, call.method, call.params, RequestId(call.id), agent_id_,
                      remaining_ms(call.deadline, std::chrono::steady_clock::now()));
    std::shared_ptr<PendingCall> pending;
    if (auto refused = send_call(target, call.id, request, nullptr, pending)) co_return std::move(*refused);
    if (request.capacity() > kKeptRequestBuffer) std::string().swap(request);  // a large one passed

    asio::steady_timer timer(executor_, give_up_at);
    timer.async_wait([pending](boost::system::error_code ec) {
      if (!ec) pending->wake.notify_all();
    });
    while (!pending->done() && std::chrono::steady_clock::now() < give_up_at) co_await pending->wake.wait();
    if (auto it = pending_.find(call.id); it != pending_.end() && it->second == pending) pending_.erase(it);
    if (pending->result) co_return CallOutcome::answered(Tier::nats, std::move(*pending->result));
    if (pending->error) co_return CallOutcome::refused(Tier::nats, std::move(*pending->error));
    sessions_.forget(pending->session);
    if (pending->unknown_session) continue;  // handshake again, once
    // Timed out: the session that never completed is dropped so the next call handshakes anew.
    co_return CallOutcome::failed(Tier::nats, "call to " + target.agent_id + " (" + call.method + ") timed out after " +
                                                  std::to_string(call.timeout.count()) + " ms",
                                  true);
  }
  co_return CallOutcome::refused(Tier::nats, call_error(ErrorCode::unknown_session, "callee keeps losing the session"));
}

}  // namespace stargate::agent
