// libFuzzer target: Circuit Relay v2 hop and stop messages (and their length-prefixed framing)
// fed hostile bytes. Whatever decodes must encode and decode back to the same message, and must
// respect the bounds the decoder promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "p2p/protocols/relay/messages.hpp"
#include "p2p/protocols/relay/voucher.hpp"

using namespace stargate;
using namespace stargate::p2p::relay;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_peer(const std::optional<PeerInfo>& peer) {
  if (peer) check(peer->addrs.size() <= kMaxAddrs);
}

void hop(BytesView body) {
  auto msg = decode_hop(body);
  if (!msg) return;
  check(body.size() <= kMaxMessageSize);
  check_peer(msg->peer);
  if (msg->type == HopMessage::Type::connect) check(msg->peer.has_value());
  if (msg->type == HopMessage::Type::status) check(msg->status.has_value());
  if (msg->reservation) {
    check(msg->reservation->addrs.size() <= kMaxAddrs);
    (void)open_voucher(msg->reservation->voucher);
  }
  auto again = decode_hop(encode(*msg));
  check(again && *again == *msg);
}

void stop(BytesView body) {
  auto msg = decode_stop(body);
  if (!msg) return;
  check(body.size() <= kMaxMessageSize);
  check_peer(msg->peer);
  if (msg->type == StopMessage::Type::connect) check(msg->peer.has_value());
  if (msg->type == StopMessage::Type::status) check(msg->status.has_value());
  auto again = decode_stop(encode(*msg));
  check(again && *again == *msg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const BytesView input(data, size);
  hop(input);
  stop(input);
  (void)open_voucher(input);
  // The same bytes as a stream of frames.
  for (BytesView rest = input; !rest.empty();) {
    auto frame = take_frame(rest);
    if (!frame || !*frame) break;
    check((*frame)->body.size() <= kMaxMessageSize);
    check((*frame)->consumed > 0 && (*frame)->consumed <= rest.size());
    hop((*frame)->body);
    stop((*frame)->body);
    rest = rest.subspan((*frame)->consumed);
  }
  return 0;
}
