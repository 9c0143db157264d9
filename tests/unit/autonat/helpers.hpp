#pragma once
// Shared by the AutoNAT unit tests.
#include "unit/peers.hpp"

namespace stargate::p2p::autonat::test {
using p2p::test::addr;
using p2p::test::some_peer;
}  // namespace stargate::p2p::autonat::test
