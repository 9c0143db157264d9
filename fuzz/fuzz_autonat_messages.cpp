// libFuzzer target: AutoNAT v1 DIAL and DIAL_RESPONSE bodies fed hostile bytes, and the server's
// decision on whatever decodes. Whatever decodes must encode and decode back to the same message
// and respect the decoder's bounds; a dial plan only ever names the requester's own IP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/protocols/autonat/messages.hpp"
#include "p2p/protocols/autonat/server_policy.hpp"

using namespace stargate;
using namespace stargate::p2p::autonat;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const BytesView input(data, size);
  if (auto dial = decode_dial(input)) {
    check(size <= kMaxMessageSize && dial->addrs.size() <= kMaxAddrs);
    auto again = decode_dial(encode(*dial));
    check(again && *again == *dial);
    static const auto observed = Multiaddr::parse("/ip4/1.2.3.4/tcp/4001").value();
    const crypto::PeerId requester = dial->peer.value_or(crypto::PeerId{});
    ServerPolicy policy{AddressClassifier{}, ServerLimits{}};
    auto decision = policy.decide(requester, observed, false, dial, {});
    if (const auto* plan = std::get_if<DialPlan>(&decision)) {
      check(!plan->addrs.empty() && plan->addrs.size() <= ServerLimits{}.max_addrs_dialed);
      for (const auto& addr : plan->addrs) check(ip_of(addr) == ip_of(observed) && tcp_port_of(addr));
    }
  }
  if (auto response = decode_dial_response(input)) {
    check(size <= kMaxMessageSize && response->status_text.size() <= kMaxStatusText);
    auto again = decode_dial_response(encode(*response));
    check(again && *again == *response);
  }
  return 0;
}
