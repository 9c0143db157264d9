#include "agent/call_limiter.hpp"

namespace stargate::agent {

std::string_view to_string(CallAdmission::Verdict verdict) {
  switch (verdict) {
    case CallAdmission::Verdict::peer_limited: return "peer";
    case CallAdmission::Verdict::ip_limited: return "ip";
    case CallAdmission::Verdict::backed_off: return "backoff";
    case CallAdmission::Verdict::allowed: break;
  }
  return "";
}

CallLimiter::CallLimiter(CallLimits limits)
    : per_peer_(limits.per_peer, limits.max_keys), per_ip_(limits.per_ip, limits.max_keys), offenders_(limits.offenders) {}

CallAdmission CallLimiter::admit(const std::string& caller, const std::optional<std::string>& ip, Clock::time_point now) {
  CallAdmission out;
  if (auto until = offenders_.backed_off_until(caller, now)) {
    out.verdict = CallAdmission::Verdict::backed_off;
    out.retry_after = std::chrono::ceil<std::chrono::milliseconds>(*until - now);
    return out;
  }
  RateDecision decision;
  if (ip) {
    decision = per_ip_.check(*ip, now);
    if (!decision) out.verdict = CallAdmission::Verdict::ip_limited;
  }
  if (decision) {
    decision = per_peer_.check(caller, now);
    if (!decision) out.verdict = CallAdmission::Verdict::peer_limited;
  }
  if (decision) return out;
  out.retry_after = decision.retry_after;
  // Only the caller's own refusals count toward its back-off: others sharing its IP are not its doing.
  if (out.verdict == CallAdmission::Verdict::peer_limited && offenders_.strike(caller, now)) {
    out.disconnect = true;
    out.retry_after = std::chrono::ceil<std::chrono::milliseconds>(offenders_.config().backoff);
  }
  return out;
}

std::optional<std::string> ip_of_multiaddr(std::string_view text) {
  for (std::string_view prefix : {"/ip4/", "/ip6/"}) {
    if (text.substr(0, prefix.size()) != prefix) continue;
    auto rest = text.substr(prefix.size());
    auto end = rest.find('/');
    auto ip = rest.substr(0, end);
    if (ip.empty()) return std::nullopt;
    return std::string(ip);
  }
  return std::nullopt;
}

}  // namespace stargate::agent
