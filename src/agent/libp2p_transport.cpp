#include "agent/libp2p_transport.hpp"

#include "agent/a2a_stream_io.hpp"
#include "agent/call_errors.hpp"
#include "p2p/host/length_prefixed.hpp"

#include <algorithm>

namespace stargate::agent {

namespace json = boost::json;
using p2p::awaitable;

Libp2pTransport::Libp2pTransport(std::shared_ptr<P2pEndpoint> endpoint, std::string caller_agent_id)
    : endpoint_(std::move(endpoint)), caller_agent_id_(std::move(caller_agent_id)) {}

std::optional<std::string> Libp2pTransport::cannot_reach(const CallTarget& target) const {
  if (target.peer_id && (!target.addrs.empty() || endpoint_->host().find_connection(*target.peer_id))) return std::nullopt;
  return "no libp2p address known";
}

awaitable<CallOutcome> Libp2pTransport::call(const CallTarget& target, const OutboundCall& call,
                                             std::chrono::steady_clock::time_point /*give_up_at: the cascade's*/) {
  const auto path = call.via == Via::direct  ? P2pEndpoint::Path::direct_only
                    : call.via == Via::relay ? P2pEndpoint::Path::relayed_only
                                             : P2pEndpoint::Path::any;
  if (call.stream) co_return co_await call_streamed(target, call, path);
  auto request = make_request(call.method, call.params, RequestId(call.id), caller_agent_id_,
                              remaining_ms(call.deadline, std::chrono::steady_clock::now()));
  if (request.size() > kMaxMessageBytes)
    co_return CallOutcome::refused(Tier::direct, to_call_error(payload_too_large_error(request.size(), kMaxMessageBytes)));
  // The endpoint keeps itself alive through the attempt: the cascade may stop waiting for it.
  auto endpoint = endpoint_;
  P2pEndpoint::Answer answer;
  try {
    answer = co_await endpoint->call(*target.peer_id, target.addrs, request, path);
  } catch (const p2p::MessageTooLarge& e) {
    co_return CallOutcome::refused(Tier::direct, to_call_error(payload_too_large_error(static_cast<std::size_t>(e.size))));
  } catch (const std::exception& e) {
    co_return CallOutcome::failed(Tier::direct, e.what());
  }
  const Tier tier = answer.relayed ? Tier::relay : Tier::direct;
  auto response = parse_response(answer.response);
  if (!response) co_return CallOutcome::failed(tier, "malformed response: " + response.error().message);
  if (!response->outcome) co_return CallOutcome::refused(tier, to_call_error(response->outcome.error()));
  const std::string* id = response->id ? std::get_if<std::string>(&*response->id) : nullptr;
  if (!id || *id != call.id) co_return CallOutcome::failed(tier, "response does not match the request");
  co_return CallOutcome::answered(tier, std::move(*response->outcome));
}

// The opening frame of each try is made when it starts: the request the first time, a resume
// after what has arrived once frames came.
awaitable<CallOutcome> Libp2pTransport::call_streamed(const CallTarget& target, const OutboundCall& call,
                                                      P2pEndpoint::Path path) {
  auto endpoint = endpoint_;
  auto stream = call.stream;
  auto make_opening = [this, &call, stream]() {
    if (stream->inbox().received() == 0)
      return make_request(call.method, call.params, RequestId(call.id), caller_agent_id_,
                          remaining_ms(call.deadline, std::chrono::steady_clock::now()), stream->inbox().window());
    return make_resume_frame(StreamResume{call.id, caller_agent_id_, stream->inbox().received(), stream->inbox().window()});
  };
  auto first = make_opening();
  if (first.size() > kMaxMessageBytes)
    co_return CallOutcome::refused(Tier::direct, to_call_error(payload_too_large_error(first.size(), kMaxMessageBytes)));
  auto* host = &endpoint->host();
  P2pEndpoint::Answer answer;
  // Named, not a temporary of the co_await expression: g++ 12 destroys those twice.
  P2pEndpoint::Exchange exchange = [host, stream, make_opening](std::shared_ptr<p2p::MuxedConnection> c) -> awaitable<std::string> {
    const auto opening = make_opening();
    co_await a2a_stream_call(*host, std::move(c), opening, *stream);
    co_return std::string();
  };
  try {
    answer = co_await endpoint->call_with(*target.peer_id, target.addrs, first.size(), path, std::move(exchange));
  } catch (const p2p::MessageTooLarge& e) {
    co_return CallOutcome::refused(Tier::direct, to_call_error(payload_too_large_error(static_cast<std::size_t>(e.size))));
  } catch (const std::exception& e) {
    co_return CallOutcome::failed(Tier::direct, e.what());
  }
  co_return CallOutcome::answered(answer.relayed ? Tier::relay : Tier::direct, nullptr);
}

std::vector<Multiaddr> dialable_addrs(const p2p::Host& host, const crypto::PeerId& peer,
                                      const std::vector<std::string>& announced) {
  std::vector<Multiaddr> out;
  for (const auto& text : announced) {
    if (auto addr = Multiaddr::parse(text)) out.push_back(std::move(*addr));
  }
  if (const auto* known = host.peer_store().find(peer)) {
    for (const auto& addr : known->addrs) {
      auto full = addr.peer_id_bytes() ? addr : addr.encapsulate(Multiaddr::parse("/p2p/" + peer.to_string()).value());
      if (std::find(out.begin(), out.end(), full) == out.end() && std::find(out.begin(), out.end(), addr) == out.end())
        out.push_back(std::move(full));
    }
  }
  return out;
}

}  // namespace stargate::agent
