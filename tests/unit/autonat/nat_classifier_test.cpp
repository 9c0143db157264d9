#include "p2p/protocols/autonat/nat_classifier.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::autonat {
namespace {

using test::addr;
using test::some_peer;

// Observer `n` (at 203.0.113.n) saw our local `local` as `observed`.
Observation seen(int n, std::string_view observed, std::string_view local, bool from_listen_port) {
  static std::vector<crypto::PeerId> peers;
  while (peers.size() <= static_cast<std::size_t>(n)) peers.push_back(some_peer());
  return Observation{peers[static_cast<std::size_t>(n)], *ip_of(addr("/ip4/203.0.113." + std::to_string(n))),
                     addr(observed), addr(local), from_listen_port};
}

TEST(NatClassifier, TooFewObserversIsUnknown) {
  NatClassifier c;
  EXPECT_EQ(c.kind(), NatKind::unknown);
  c.add(seen(1, "/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4001", true));
  EXPECT_EQ(c.kind(), NatKind::unknown);
  // The same observer again, and another peer at the same IP, do not count twice.
  c.add(seen(1, "/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4001", true));
  auto same_ip = seen(2, "/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4001", true);
  same_ip.observer_ip = *ip_of(addr("/ip4/203.0.113.1"));
  c.add(same_ip);
  EXPECT_EQ(c.kind(), NatKind::unknown);
  EXPECT_EQ(to_string(c.kind()), "unknown");
}

TEST(NatClassifier, UntranslatedIsPublic) {
  NatClassifier c;
  c.add(seen(1, "/ip4/1.2.3.4/tcp/50001", "/ip4/1.2.3.4/tcp/50001", false));
  c.add(seen(2, "/ip4/1.2.3.4/tcp/4001", "/ip4/1.2.3.4/tcp/4001", true));
  EXPECT_EQ(c.kind(), NatKind::public_);
}

TEST(NatClassifier, ListenPortSeenAtOneAddressIsEndpointIndependent) {
  NatClassifier c;
  c.add(seen(1, "/ip4/5.6.7.8/tcp/4001", "/ip4/192.168.1.10/tcp/4001", true));
  c.add(seen(2, "/ip4/5.6.7.8/tcp/4001", "/ip4/192.168.1.10/tcp/4001", true));
  EXPECT_EQ(c.kind(), NatKind::endpoint_independent);
}

TEST(NatClassifier, ListenPortSeenAtDifferentPortsIsSymmetric) {
  NatClassifier c;
  c.add(seen(1, "/ip4/5.6.7.8/tcp/31000", "/ip4/192.168.1.10/tcp/4001", true));
  c.add(seen(2, "/ip4/5.6.7.8/tcp/42000", "/ip4/192.168.1.10/tcp/4001", true));
  EXPECT_EQ(c.kind(), NatKind::symmetric);
}

TEST(NatClassifier, EphemeralPortsAreNotComparedWithEachOther) {
  // Different local ports mapped to different ports is what any NAT does that does not keep
  // ports: no verdict from that alone.
  NatClassifier c;
  c.add(seen(1, "/ip4/5.6.7.8/tcp/31000", "/ip4/192.168.1.10/tcp/50001", false));
  c.add(seen(2, "/ip4/5.6.7.8/tcp/42000", "/ip4/192.168.1.10/tcp/50002", false));
  EXPECT_EQ(c.kind(), NatKind::unknown);
  // Nor with the listen port's mapping.
  c.add(seen(3, "/ip4/5.6.7.8/tcp/4001", "/ip4/192.168.1.10/tcp/4001", true));
  EXPECT_EQ(c.kind(), NatKind::unknown);
}

TEST(NatClassifier, ASecondConnectionFromAnEphemeralPortKeepsTheListenPortObservation) {
  // Observer 1 sees us twice: over a connection from the listen port, then over one from an
  // ephemeral port (the listen port's 4-tuple to it was taken). The first still counts.
  NatClassifier c;
  c.add(seen(1, "/ip4/5.6.7.8/tcp/4001", "/ip4/192.168.1.10/tcp/4001", true));
  c.add(seen(2, "/ip4/5.6.7.8/tcp/4001", "/ip4/192.168.1.10/tcp/4001", true));
  c.add(seen(1, "/ip4/5.6.7.8/tcp/31000", "/ip4/192.168.1.10/tcp/50001", false));
  EXPECT_EQ(c.kind(), NatKind::endpoint_independent);
  EXPECT_EQ(c.observations(), 3u);
  // A newer listen-port observation from observer 1 still replaces its older one.
  c.add(seen(1, "/ip4/5.6.7.8/tcp/4002", "/ip4/192.168.1.10/tcp/4001", true));
  EXPECT_EQ(c.kind(), NatKind::symmetric);
  EXPECT_EQ(c.observations(), 3u);
}

TEST(NatClassifier, PortPreservingMappingsOfEphemeralPortsAreEndpointIndependent) {
  NatClassifier c;
  c.add(seen(1, "/ip4/5.6.7.8/tcp/50001", "/ip4/192.168.1.10/tcp/50001", false));
  c.add(seen(2, "/ip4/5.6.7.8/tcp/50002", "/ip4/192.168.1.10/tcp/50002", false));
  EXPECT_EQ(c.kind(), NatKind::endpoint_independent);
}

TEST(NatClassifier, TranslatedAddressWithSeveralIpsIsSymmetric) {
  NatClassifier c;
  c.add(seen(1, "/ip4/5.6.7.8/tcp/50001", "/ip4/192.168.1.10/tcp/50001", false));
  c.add(seen(2, "/ip4/5.6.7.9/tcp/50002", "/ip4/192.168.1.10/tcp/50002", false));
  EXPECT_EQ(c.kind(), NatKind::symmetric);
}

TEST(NatClassifier, UnusableObservationsAreIgnoredAndStorageIsBounded) {
  NatClassifier c(NatClassifierConfig{2, 3});
  EXPECT_FALSE(c.add(seen(1, "/ip4/1.2.3.4/tcp/1/p2p-circuit", "/ip4/1.2.3.4/tcp/1", false)));
  EXPECT_FALSE(c.add(seen(1, "/ip6/2001:4860::1/tcp/1", "/ip4/1.2.3.4/tcp/1", false)));
  for (int i = 1; i <= 10; ++i) EXPECT_TRUE(c.add(seen(i, "/ip4/1.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/1", false)));
  EXPECT_EQ(c.observations(), 3u);
}

}  // namespace
}  // namespace stargate::p2p::autonat
