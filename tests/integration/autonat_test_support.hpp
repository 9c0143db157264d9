#pragma once
// AutoNAT options for loopback tests: 127.0.0.0/8 counts as public, rounds start at once and
// repeat quickly, servers answer the same peer as often as asked.
#include "p2p/protocols/autonat/autonat_io.hpp"

#include <chrono>

namespace stargate::testing {

inline p2p::autonat::AutonatOptions fast_autonat_options(bool probe) {
  using namespace std::chrono_literals;
  p2p::autonat::AutonatOptions o;
  o.classifier = p2p::autonat::AddressClassifier(p2p::autonat::Cidr::parse_list("127.0.0.0/8").value());
  o.probe = probe;
  o.first_round_delay = 0ms;
  o.retry_interval = 500ms;
  o.refresh_interval = 500ms;
  o.server_backoff = 0ms;
  o.dial_back_timeout = 5s;
  o.request_timeout = 10s;
  o.server_limits.per_peer = 100;
  return o;
}

}  // namespace stargate::testing
