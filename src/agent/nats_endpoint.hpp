#pragma once
// Calls through a NATS broker (docs/nats-sealed-session.md), both ways, unary and streamed
// (docs/protocol.md, "Streamed results"; the streams' part is nats_endpoint_streams.cpp): as one tier of the cascade
// (requests sealed end to end in Noise IK sessions to traylinx.agents.<callee>, each call with its
// own reply subject, replies opened and matched to their call), and serving the requests that
// arrive on our own subject through the inbound dispatcher. Sealed messages above the broker's
// max_payload travel in chunks. Owns the nats.c client; nats_discovery uses it for announcements.
#include "agent/call_transport.hpp"
#include "agent/inbound_dispatcher.hpp"
#include "agent/rejections.hpp"
#include "agent/streaming_call.hpp"
#include "base/signal_io.hpp"
#include "nats/client.hpp"
#include "nats/sealed/chunking.hpp"
#include "nats/sealed/session_table.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace stargate::agent {

inline constexpr std::string_view kAgentsSubjectPrefix = "traylinx.agents.";

class NatsEndpoint final : public CallTransport, public std::enable_shared_from_this<NatsEndpoint> {
 public:
  NatsEndpoint(boost::asio::any_io_executor executor, const crypto::Ed25519PrivateKey& identity, std::string agent_id,
               std::shared_ptr<InboundDispatcher> dispatcher, std::shared_ptr<Rejections> rejections);
  ~NatsEndpoint() override;

  // Connects. With `optional`, a broker that does not answer is a warning and nats.c keeps trying
  // in the background; otherwise it throws. False when there is no connection and none will come.
  boost::asio::awaitable<bool> connect(nats::ClientOptions options, bool optional);
  // Subscribes to the replies of our calls and, with `serve`, to the requests for us.
  void start(bool serve);
  // Waits until the broker has seen our subscriptions (when connected).
  boost::asio::awaitable<void> flush(std::chrono::milliseconds limit);

  // "not announced over NATS" without the callee's session key.
  std::optional<std::string> cannot_reach(const CallTarget& target) const override;
  boost::asio::awaitable<CallOutcome> call(const CallTarget& target, const OutboundCall& call,
                                           std::chrono::steady_clock::time_point give_up_at) override;

  bool connected() const { return client_ && client_->is_connected(); }
  const std::shared_ptr<nats::Client>& client() const { return client_; }
  void close();

 private:
  // A call waiting for its reply (or, streamed, for its frames) on <inbox>.c.<call id>.
  struct PendingCall {
    explicit PendingCall(boost::asio::any_io_executor ex) : wake(std::move(ex)) {}
    crypto::X25519Key callee_static{};
    nats::sealed::SessionHandle session;
    std::optional<boost::json::value> result;
    std::optional<CallError> error;
    bool unknown_session = false;  // the callee lost our session: handshake again
    Signal wake;
    // Streamed: frames go into the stream; a frame that does not fit (a gap, beyond the window)
    // breaks this path, and the caller resumes.
    std::shared_ptr<StreamingCall> stream;
    std::optional<std::string> broken;
    bool done() const { return result || error || unknown_session; }
  };
  void on_request(const nats::MessageRef& message);
  std::optional<CallOutcome> send_call(const CallTarget& target, const std::string& call_id, std::string_view text,
                                       std::shared_ptr<StreamingCall> stream, std::shared_ptr<PendingCall>& pending);
  void on_reply(const nats::MessageRef& message);
  boost::asio::awaitable<void> serve(nats::sealed::OpenedInfo opened, InboundDispatcher::ParsedRequest request,
                                     std::string reply);
  void publish_sealed(const std::string& subject, BytesView wire, const std::string& reply);
  void publish_plain_error(const std::string& reply, ErrorCode code, const std::string& message);
  std::optional<BytesView> gather(std::string_view sender, BytesView data, Bytes& whole);
  // Streams (nats_endpoint_streams.cpp).
  bool on_stream_frame(const nats::sealed::OpenedView& opened, const std::string& reply);
  boost::asio::awaitable<void> serve_stream(nats::sealed::OpenedInfo opened, InboundDispatcher::ParsedRequest request,
                                            std::optional<StreamResume> resume, std::string reply);
  boost::asio::awaitable<void> pump_stream(nats::sealed::SessionHandle session, StreamAttachment opened, std::string reply);
  bool publish_in_session(const nats::sealed::SessionHandle& session, std::string_view frame, const std::string& reply);
  void deliver_frame(PendingCall& call, std::string_view plaintext);
  boost::asio::awaitable<CallOutcome> call_streamed(const CallTarget& target, const OutboundCall& call);
  bool send_to_callee(const CallTarget& target, std::string_view frame, const std::string& reply);

  boost::asio::any_io_executor executor_;
  std::string agent_id_;
  std::shared_ptr<InboundDispatcher> dispatcher_;
  std::shared_ptr<Rejections> rejections_;
  nats::sealed::SessionTable sessions_;
  nats::sealed::Reassembler reassembler_;
  std::shared_ptr<nats::Client> client_;
  std::vector<nats::Subscription> subscriptions_;
  std::string inbox_;
  std::unordered_map<std::string, std::shared_ptr<PendingCall>> pending_;
  // Requests are serialized here, kept for the next call up to 1 MiB.
  std::string request_buffer_;
};

}  // namespace stargate::agent
