// Streamed results over NATS (docs/protocol.md, "Streamed results"): the callee publishes each
// frame sealed in the request's session on the call's reply subject; the caller's
// acknowledgements, cancellation and resumes go to the callee's subject sealed in its session like
// requests. NATS has no flow control of its own: the credit rule (StreamOutbox) is the only thing
// between a fast handler and a slow reader, so the callee publishes nothing beyond the window.
#include "agent/nats_endpoint.hpp"

#include "agent/agent_log.hpp"
#include "agent/call_errors.hpp"
#include "agent/stream_frames.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

namespace stargate::agent {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// Caller frames are small JSON objects that name themselves; a request is not parsed twice.
bool looks_like_caller_frame(std::string_view text) {
  return text.size() <= 1024 && (text.find("\"ack\"") != std::string_view::npos ||
                                 text.find("\"cancel\"") != std::string_view::npos ||
                                 text.find("\"resume\"") != std::string_view::npos);
}

}  // namespace

bool NatsEndpoint::on_stream_frame(const nats::sealed::OpenedView& opened, const std::string& reply) {
  const auto text = as_string(opened.plaintext);
  if (!looks_like_caller_frame(text)) return false;
  auto frame = parse_caller_frame(text);
  if (!frame) return false;  // a request after all (or garbage): parse_request says which
  if (!opened.peer) {
    rejections_->count("forbidden");
    return true;
  }
  if (auto* resume = std::get_if<StreamResume>(&*frame)) {
    nats::sealed::OpenedInfo info = opened;
    asio::co_spawn(executor_, serve_stream(std::move(info), InboundDispatcher::ParsedRequest(RequestFailure{}), *resume, reply),
                   asio::detached);
    return true;
  }
  dispatcher_->stream_control(opened.peer->agent_id, *frame);
  return true;
}

awaitable<void> NatsEndpoint::serve_stream(nats::sealed::OpenedInfo opened, InboundDispatcher::ParsedRequest request,
                                           std::optional<StreamResume> resume, std::string reply) {
  auto self = shared_from_this();
  std::optional<Caller> caller;
  if (opened.peer) caller = Caller{opened.peer->agent_id, opened.peer->peer_id, std::nullopt};
  // if/else, not a conditional expression: g++ 12 destroys the result of one with a co_await twice.
  StreamAttachment attachment;
  if (resume)
    attachment = dispatcher_->resume_stream(*resume, std::move(caller));
  else
    attachment = co_await dispatcher_->open_stream(std::move(request), std::move(caller));
  co_await pump_stream(opened.session, std::move(attachment), std::move(reply));
}

// Seals one frame in the session and publishes it at once (no co_await in between: the table's
// buffer holds it until the next seal).
bool NatsEndpoint::publish_in_session(const nats::sealed::SessionHandle& session, std::string_view frame,
                                      const std::string& reply) {
  if (!client_) return false;
  auto sealed = sessions_.seal_response_view(session, as_bytes(frame), std::chrono::system_clock::now());
  if (!sealed) {
    logger()->debug("cannot seal a stream frame: {}", sealed.error().message);
    return false;
  }
  try {
    publish_sealed(reply, *sealed, {});
  } catch (const std::exception& e) {
    logger()->debug("cannot publish a stream frame: {}", e.what());
    return false;
  }
  return true;
}

awaitable<void> NatsEndpoint::pump_stream(nats::sealed::SessionHandle session, StreamAttachment opened, std::string reply) {
  auto self = shared_from_this();
  if (!opened.stream) {
    publish_in_session(session, make_final_frame(1, *opened.refusal), reply);
    co_return;
  }
  auto served = opened.stream;
  const auto attachment = opened.attachment;
  // Over NATS nothing says the caller went away: one that acknowledges nothing for the resume
  // window while frames wait is taken for gone (it may still resume).
  const auto patience = dispatcher_->streams().limits().resume_window;
  bool broken = false;
  while (served->current(attachment)) {
    auto& out = served->outbox();
    if (const std::size_t unsent = out.unsent_count(); unsent > 0) {
      std::size_t sent = 0;
      for (; sent < unsent; ++sent) {
        if (!publish_in_session(session, out.unsent(sent), reply)) break;
      }
      out.mark_sent(sent);
      if (sent < unsent) {
        broken = true;
        break;
      }
      continue;
    }
    if (out.drained()) break;
    bool timed_out = false;
    asio::steady_timer timer(executor_, patience);
    // Raw pointers: this coroutine outlives the wait (the timer is cancelled before either goes),
    // and g++ 12 mis-counts a shared_ptr captured by a lambda made inside a coroutine.
    Signal* changed = &served->changed();
    timer.async_wait([&timed_out, changed](boost::system::error_code ec) {
      if (ec) return;
      timed_out = true;
      changed->notify_all();
    });
    const auto acknowledged = out.acknowledged();
    co_await served->changed().wait();
    timer.cancel();
    if (timed_out && out.acknowledged() == acknowledged && out.unsent_count() == 0) {
      broken = true;
      break;
    }
  }
  if (broken || (!served->outbox().drained() && served->current(attachment)))
    served->detach(attachment, std::chrono::steady_clock::now());
  dispatcher_->stream_ended(*served);
}

void NatsEndpoint::deliver_frame(PendingCall& call, std::string_view plaintext) {
  auto frame = parse_callee_frame(plaintext);
  if (!frame) {
    rejections_->count("reply_malformed");
    return;
  }
  auto added = call.stream->deliver(std::move(*frame), plaintext.size());
  if (added == StreamInbox::Added::duplicate) rejections_->count("stream_frame_duplicate");
  if (added == StreamInbox::Added::gap) call.broken = "stream frames missing after " + std::to_string(call.stream->inbox().received());
  if (added == StreamInbox::Added::over_window) call.broken = "the callee sent beyond the stream window";
  call.stream->path_wake().notify_all();
}

// One caller frame to the callee, sealed in our session with it like a request.
bool NatsEndpoint::send_to_callee(const CallTarget& target, std::string_view frame, const std::string& reply) {
  if (!client_) return false;
  auto sealed = sessions_.seal_request_view(*target.session_key, as_bytes(frame), std::chrono::system_clock::now(),
                                            target.identity_key);
  if (!sealed) return false;
  try {
    publish_sealed(std::string(kAgentsSubjectPrefix) + target.agent_id, sealed->wire, reply);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

awaitable<CallOutcome> NatsEndpoint::call_streamed(const CallTarget& target, const OutboundCall& call) {
  auto self = shared_from_this();
  auto stream = call.stream;
  const auto attempt = stream->begin_attempt();
  const std::string reply = inbox_ + ".c." + call.id;
  for (int handshake = 0; handshake < 2; ++handshake) {
    if (!client_) co_return CallOutcome::failed(Tier::nats, "the broker connection is closed");
    // The request the first time; a resume once frames came (over any tier).
    const auto opening = stream->inbox().received() == 0
                             ? make_request(call.method, call.params, RequestId(call.id), agent_id_,
                                            remaining_ms(call.deadline, std::chrono::steady_clock::now()),
                                            stream->inbox().window())
                             : make_resume_frame(StreamResume{call.id, agent_id_, stream->inbox().received(), stream->inbox().window()});
    std::shared_ptr<PendingCall> pending;
    if (auto refused = send_call(target, call.id, opening, stream, pending)) co_return std::move(*refused);
    // Acknowledgements and cancellation go out as the reader consumes; frames come in through
    // on_reply. The cascade decides how long to wait for the first one.
    std::optional<CallOutcome> outcome;
    while (!outcome) {
      if (stream->take_cancel()) send_to_callee(target, make_cancel_frame(call.id), reply);
      if (auto seq = stream->inbox().ack_due()) send_to_callee(target, make_ack_frame(call.id, *seq), reply);
      if (stream->complete()) {
        // The callee may drop what it kept for a resume.
        send_to_callee(target, make_ack_frame(call.id, stream->inbox().received()), reply);
        outcome = CallOutcome::answered(Tier::nats, nullptr);
      } else if (pending->broken) {
        outcome = CallOutcome::failed(Tier::nats, *pending->broken);
      } else if (pending->unknown_session) {
        break;
      } else if (!stream->current(attempt)) {
        outcome = CallOutcome::failed(Tier::nats, "another path took the stream over");
      } else {
        co_await stream->path_wake().wait();
      }
    }
    if (auto it = pending_.find(call.id); it != pending_.end() && it->second == pending) pending_.erase(it);
    if (outcome) co_return std::move(*outcome);
    sessions_.forget(pending->session);  // the callee lost our session: handshake again, once
  }
  co_return CallOutcome::refused(Tier::nats, call_error(ErrorCode::unknown_session, "callee keeps losing the session"));
}

}  // namespace stargate::agent
