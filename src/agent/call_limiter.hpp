#pragma once
// Admission of A2A calls a node serves (docs/limits.md, "Rate limits"), sans-IO: a token bucket
// per caller (agent ID) and one per remote IP, and the offender tracker that turns a caller who
// keeps being refused into a disconnect and a back-off. Over libp2p a direct connection gives
// both keys; a relayed one only the caller (the relay's IP says nothing about the caller); NATS
// carries no IP, so only the caller.
#include "base/offenders.hpp"
#include "base/token_bucket.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::agent {

struct CallLimits {
  RateLimit per_peer{100, 1000};
  RateLimit per_ip{500, 5000};
  std::size_t max_keys = 10'000;  // per limiter
  OffenderTracker::Config offenders;
};

struct CallAdmission {
  enum class Verdict { allowed, peer_limited, ip_limited, backed_off };
  Verdict verdict = Verdict::allowed;
  std::chrono::milliseconds retry_after{0};
  bool disconnect = false;  // this refusal put the caller in back-off: close its connections now
  bool allowed() const { return verdict == Verdict::allowed; }
};
// "peer", "ip", "backoff" (metric labels); "" when allowed.
std::string_view to_string(CallAdmission::Verdict verdict);

class CallLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CallLimiter(CallLimits limits);

  // One call from `caller` (and `ip`, when the transport knows it). The IP bucket is asked first:
  // a call refused there takes no token from the caller's.
  CallAdmission admit(const std::string& caller, const std::optional<std::string>& ip, Clock::time_point now);
  OffenderTracker& offenders() { return offenders_; }
  const OffenderTracker& offenders() const { return offenders_; }

 private:
  RateLimiter<std::string> per_peer_;
  RateLimiter<std::string> per_ip_;
  OffenderTracker offenders_;
};

// The IP of a direct connection's remote multiaddr ("/ip4/1.2.3.4/tcp/5" -> "1.2.3.4"); none for
// anything else (a circuit address, DNS).
std::optional<std::string> ip_of_multiaddr(std::string_view text);

}  // namespace stargate::agent
