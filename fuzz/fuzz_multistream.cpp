// libFuzzer target: multistream-select 1.0 negotiation (both roles) fed hostile bytes.
// The first input byte picks the chunk size, so the same wire bytes are also tried split up.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "p2p/multistream/message.hpp"
#include "p2p/multistream/multistream.hpp"

using namespace stargate;
using namespace stargate::p2p::multistream;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Feeds `wire` to `machine` in chunks of `chunk` bytes; checks that it never consumes more than it
// was given, consumes all of a chunk unless it finished inside it, and nothing once finished.
template <class Machine>
void drive(Machine& machine, BytesView wire, std::size_t chunk) {
  for (std::size_t at = 0; at < wire.size();) {
    const std::size_t n = std::min(chunk, wire.size() - at);
    const bool was_done = machine.done();
    auto used = machine.receive(wire.subspan(at, n));
    (void)machine.take_output();
    if (!used) {
      check(machine.failed() && !machine.done());
      check(!machine.receive(wire.subspan(at, n)));  // failure is sticky
      return;
    }
    check(*used <= n);
    if (was_done) check(*used == 0);
    if (*used < n) check(machine.done());
    if (machine.done()) check(!invalid_line_reason(machine.selected()));
    at += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] == 0 ? size : data[0];
  const BytesView wire(data + 1, size - 1);

  {
    Responder exact(std::vector<std::string>{"/noise", "/yamux/1.0.0", "/ipfs/id/1.0.0"},
                    ResponderLimits{.max_rejections = 4});
    drive(exact, wire, chunk);
  }
  {
    Responder any([](std::string_view p) { return p.size() > 3 && p[0] == '/'; }, {"/x"});
    drive(any, wire, chunk);
  }
  {
    Initiator ini({"/tls/1.0.0", "/noise", "/yamux/1.0.0"});
    (void)ini.take_output();
    drive(ini, wire, chunk);
  }
  {
    // The codec alone: every line it hands out is printable and fits the limit.
    LineReader reader;
    std::size_t used = 0;
    while (used < wire.size()) {
      auto line = reader.next(wire, used);
      if (!line) break;
      if (*line) check(!invalid_line_reason(**line));
    }
  }
  return 0;
}
