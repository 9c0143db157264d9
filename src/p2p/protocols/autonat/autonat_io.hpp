#pragma once
// AutoNAT v1 (/libp2p/autonat/1.0.0) over streams, and what the node makes of it:
//
// - Server: answers DIAL requests with a dial-back on a fresh connection from an ephemeral port
//   (Host::probe_dial), never over the connection the request came on or another pooled one, or
//   every node would look public. ServerPolicy decides what may be dialed (the requester's own IP
//   only, never over a relayed connection, rate limits).
// - Client: asks connected peers that support the protocol (identify's list in the peer store) to
//   dial back our public-looking advertised addresses; ReachabilityTracker turns the answers into
//   public / private / unknown with hysteresis. Rounds run on a timer (sooner while unsure) and
//   when our addresses change.
// - NAT classification: every identify answer's observed address (with the local port that
//   connection used) goes to a NatClassifier.
#include "p2p/host/host.hpp"
#include "p2p/protocols/autonat/address_classifier.hpp"
#include "p2p/protocols/autonat/messages.hpp"
#include "p2p/protocols/autonat/nat_classifier.hpp"
#include "p2p/protocols/autonat/reachability_tracker.hpp"
#include "p2p/protocols/autonat/server_policy.hpp"
#include "p2p/protocols/identify/identify_io.hpp"

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace stargate::p2p::autonat {

struct AutonatOptions {
  AddressClassifier classifier;  // which addresses are public (with treat_as_public)
  bool serve = true;             // answer other peers' DIAL requests
  bool probe = true;             // ask other peers about us
  ServerLimits server_limits;
  // Server: reading a request, and all dial-backs for one request together.
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds dial_back_timeout{15'000};
  // Client: waiting for a server's answer (it dials in the meantime).
  std::chrono::milliseconds request_timeout{30'000};
  TrackerConfig tracker;
  NatClassifierConfig nat;
  std::size_t probes_per_round = 3;  // servers asked at once
  std::chrono::milliseconds first_round_delay{5'000};   // after start, for connections to come up
  std::chrono::milliseconds retry_interval{60'000};     // between rounds while unknown or unsure
  std::chrono::milliseconds refresh_interval{15 * 60'000};  // between rounds once confident
  std::chrono::milliseconds server_backoff{90'000};     // before asking the same server again
};

struct ClientCounters {
  std::uint64_t probes_sent = 0;
  // Answers by status: OK, E_DIAL_ERROR, E_DIAL_REFUSED, E_BAD_REQUEST, E_INTERNAL_ERROR.
  std::array<std::uint64_t, 5> answered{};
  std::uint64_t no_answer = 0;  // stream failed, timed out, or a malformed answer
};
// Index of `status` in ClientCounters::answered.
std::size_t status_index(Status status);

class ReachabilityService : public std::enable_shared_from_this<ReachabilityService> {
 public:
  // Registers the server handler (options.serve) and starts the probe rounds (options.probe).
  // Keep it alive as long as the host; close() it before the host closes.
  static std::shared_ptr<ReachabilityService> enable(Host& host, identify::IdentifyService& identify,
                                                     AutonatOptions options = {});
  ReachabilityService(Host& host, AutonatOptions options);
  ~ReachabilityService();

  Reachability reachability() const { return tracker_.reachability(); }
  int confidence() const { return tracker_.confidence(); }
  NatKind nat_kind() const { return nat_.kind(); }
  // Runs after reachability or NAT kind changed.
  void on_change(std::function<void()> hook) { change_hooks_.push_back(std::move(hook)); }
  const ClientCounters& client_counters() const { return client_counters_; }
  const ServerCounters& server_counters() const { return policy_.counters(); }

  // Asks the server on `connection` to dial us back, records the result like a round's, and
  // returns the answer. Throws when no answer came.
  awaitable<DialResponse> probe(std::shared_ptr<MuxedConnection> connection);
  // The addresses a DIAL request carries: advertised, direct TCP, public-looking.
  std::vector<Multiaddr> probe_addrs() const;
  // Starts a round now rather than at the next timer.
  void probe_soon();
  void close();

 private:
  awaitable<void> serve(std::shared_ptr<MuxedStream> stream);
  awaitable<DialResponse> dial_back(const crypto::PeerId& peer, const DialPlan& plan);
  awaitable<void> run();
  void start_round();
  void observed(const MuxedConnection& connection, const Multiaddr& observed);
  void notify();

  Host& host_;
  AutonatOptions options_;
  ServerPolicy policy_;
  ReachabilityTracker tracker_;
  NatClassifier nat_;
  ClientCounters client_counters_;
  std::unordered_map<crypto::PeerId, Clock::time_point> last_asked_;
  std::unordered_set<crypto::PeerId> in_flight_;
  std::vector<std::function<void()>> change_hooks_;
  asio::steady_timer timer_;
  bool wake_ = false;
  bool closed_ = false;
};

}  // namespace stargate::p2p::autonat
