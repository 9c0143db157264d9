#pragma once
// The AutoNAT server's decisions, sans-IO: whether to answer a DIAL request with a dial-back, and
// at which addresses. It dials only addresses whose IP is the one the request came from (the
// spec's rule against using AutoNAT servers to flood a third party, RFC 3489 12.1.1), never
// over a relayed connection (whose source IP is unknown), only public-looking addresses, at most
// `max_addrs_dialed` of them, and within rate limits per peer and overall.
#include "crypto/peer_id.hpp"
#include "p2p/protocols/autonat/address_classifier.hpp"
#include "p2p/protocols/autonat/messages.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace stargate::p2p::autonat {

struct ServerLimits {
  std::size_t max_addrs_dialed = 4;
  // Dial-backs granted in any `window`: to one peer, and in all (go-libp2p: 3 and 30 a minute).
  std::size_t per_peer = 3;
  std::size_t global = 30;
  std::chrono::steady_clock::duration window = std::chrono::minutes(1);
};

enum class RefusalReason : std::size_t {
  relayed,           // the request came over a relayed connection
  bad_request,       // malformed, or names another peer
  observed_not_public,  // the requester's own IP is not public: nothing to learn
  no_dialable_addr,  // no requested address has the requester's IP, TCP, and a public IP
  rate_limited,
  count_,
};
inline constexpr std::size_t kRefusalReasons = static_cast<std::size_t>(RefusalReason::count_);
std::string_view to_string(RefusalReason reason);
Status status_for(RefusalReason reason);

struct Refusal {
  RefusalReason reason;
  std::string text;
  DialResponse response() const { return DialResponse{status_for(reason), text, std::nullopt}; }
};

// The addresses to dial, each /ip4|ip6/A/tcp/P (no /p2p: the peer is checked by the handshake).
struct DialPlan {
  std::vector<Multiaddr> addrs;
};

struct ServerCounters {
  std::uint64_t requests = 0;
  std::uint64_t dial_backs_ok = 0;
  std::uint64_t dial_backs_failed = 0;
  std::array<std::uint64_t, kRefusalReasons> refused{};
};

class ServerPolicy {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  ServerPolicy(AddressClassifier classifier, ServerLimits limits)
      : classifier_(std::move(classifier)), limits_(limits) {}

  // `observed`: the requester's address on the connection the request came in on. `request`: the
  // decoded DIAL, or the decoding error. A plan counts against the rate limits.
  std::variant<DialPlan, Refusal> decide(const crypto::PeerId& requester, const Multiaddr& observed, bool relayed,
                                         const Result<DialRequest>& request, TimePoint now);
  void dial_finished(bool ok) { ++(ok ? counters_.dial_backs_ok : counters_.dial_backs_failed); }

  const ServerCounters& counters() const { return counters_; }
  const ServerLimits& limits() const { return limits_; }

 private:
  Refusal refuse(RefusalReason reason, std::string text);
  void prune(TimePoint now);

  AddressClassifier classifier_;
  ServerLimits limits_;
  ServerCounters counters_;
  std::deque<TimePoint> granted_;  // every grant in the window, oldest first
  std::unordered_map<crypto::PeerId, std::deque<TimePoint>> granted_to_;
};

}  // namespace stargate::p2p::autonat
