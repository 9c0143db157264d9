#include "p2p/host/standard_protocols.hpp"

#include "p2p/protocols/echo/echo_io.hpp"
#include "p2p/protocols/perf/perf_io.hpp"
#include "p2p/protocols/ping/ping_io.hpp"

namespace stargate::p2p {

std::shared_ptr<identify::IdentifyService> enable_standard_protocols(Host& host) {
  ping::enable(host);
  perf::enable(host);
  echo::enable(host);
  return identify::IdentifyService::enable(host);
}

}  // namespace stargate::p2p
