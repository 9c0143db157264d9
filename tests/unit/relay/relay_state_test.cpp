#include "p2p/protocols/relay/relay_state.hpp"

#include "p2p/protocols/relay/voucher.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stargate::p2p::relay {
namespace {

using namespace std::chrono_literals;

crypto::PeerId random_peer() { return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key()); }

const TimePoint t0 = TimePoint{} + std::chrono::seconds(1'700'000'000);

struct Relay {
  explicit Relay(RelayLimits limits = {})
      : state(crypto::Ed25519PrivateKey::generate(), {Multiaddr::parse("/ip4/198.51.100.1/tcp/4001").value()}, limits) {}
  RelayState state;
};

TEST(RelayLimitsTest, DefaultsAreGoLibp2ps) {
  const RelayLimits l = RelayLimits::public_relay();
  EXPECT_EQ(l.reservation_ttl, 1h);
  EXPECT_EQ(l.max_reservations, 128u);
  EXPECT_EQ(l.max_reservations_per_peer, 1u);
  EXPECT_EQ(l.max_reservations_per_ip, 8u);
  EXPECT_EQ(l.max_circuits_per_peer, 16u);
  EXPECT_EQ(l.circuit_duration, 2min);
  EXPECT_EQ(l.circuit_bytes, 128u * 1024);

  const RelayLimits p = RelayLimits::private_relay();
  EXPECT_EQ(p.circuit_duration.count(), 0);
  EXPECT_EQ(p.circuit_bytes, 0u);
  EXPECT_GT(p.max_reservations, l.max_reservations);
  EXPECT_GT(p.max_reservations_per_ip, l.max_reservations_per_ip);
  EXPECT_GT(p.max_circuits_per_peer, l.max_circuits_per_peer);
}

TEST(RelayStateTest, ReserveGrantsExpiryAddrsVoucherAndLimit) {
  Relay r;
  const auto peer = random_peer();
  auto grant = r.state.reserve(peer, "203.0.113.5", t0);
  ASSERT_TRUE(grant);
  EXPECT_FALSE(grant->refreshed);
  EXPECT_EQ(grant->expiry, t0 + 1h);
  EXPECT_EQ(grant->expire_unix, 1'700'003'600u);
  ASSERT_EQ(grant->addrs.size(), 1u);
  EXPECT_EQ(grant->addrs[0].to_string(), "/ip4/198.51.100.1/tcp/4001/p2p/" + r.state.relay_id().to_string());
  EXPECT_EQ(open_voucher(grant->voucher).value(), (Voucher{r.state.relay_id(), peer, 1'700'003'600}));
  EXPECT_EQ(grant->limit, (Limit{120, 131072}));
  EXPECT_TRUE(r.state.has_reservation(peer, t0));
  EXPECT_EQ(r.state.reservation_count(), 1u);
  EXPECT_EQ(r.state.counters().reservations_granted, 1u);

  // The response round-trips through the wire form.
  const HopMessage response = grant->response();
  auto decoded = decode_hop(encode(response)).value();
  EXPECT_EQ(decoded, response);
  EXPECT_EQ(decoded.status, Status::ok);
  EXPECT_EQ(decoded.reservation->expire, 1'700'003'600u);
}

TEST(RelayStateTest, AddressesGetTheRelaysIdAndOthersAreLeftOut) {
  Relay r;
  const auto id = r.state.relay_id().to_string();
  r.state.set_addrs({Multiaddr::parse("/ip4/198.51.100.1/tcp/1").value(),
                     Multiaddr::parse("/ip4/198.51.100.1/tcp/2/p2p/" + id).value(),
                     Multiaddr::parse("/ip4/198.51.100.1/tcp/3/p2p/" + random_peer().to_string()).value(),
                     Multiaddr::parse("/ip4/198.51.100.1/tcp/4/p2p/" + id + "/p2p-circuit").value()});
  ASSERT_EQ(r.state.addrs().size(), 2u);
  EXPECT_EQ(r.state.addrs()[0].to_string(), "/ip4/198.51.100.1/tcp/1/p2p/" + id);
  EXPECT_EQ(r.state.addrs()[1].to_string(), "/ip4/198.51.100.1/tcp/2/p2p/" + id);
}

TEST(RelayStateTest, RefreshExtendsAndNeedsNoNewSlot) {
  Relay r;
  const auto peer = random_peer();
  ASSERT_TRUE(r.state.reserve(peer, "203.0.113.5", t0));
  auto again = r.state.reserve(peer, "203.0.113.5", t0 + 30min);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->refreshed);
  EXPECT_EQ(again->expiry, t0 + 90min);
  EXPECT_EQ(open_voucher(again->voucher)->expiration, again->expire_unix);
  auto refreshed = r.state.refresh(peer, "203.0.113.5", t0 + 80min);
  ASSERT_TRUE(refreshed);
  EXPECT_EQ(refreshed->expiry, t0 + 140min);
  EXPECT_EQ(r.state.reservation_count(), 1u);
  EXPECT_EQ(r.state.counters().reservations_refreshed, 2u);
  EXPECT_TRUE(r.state.has_reservation(peer, t0 + 139min));
  EXPECT_FALSE(r.state.has_reservation(peer, t0 + 140min));

  auto none = r.state.refresh(random_peer(), "203.0.113.5", t0);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), (Refusal{Status::no_reservation, RefusalReason::no_reservation}));
}

TEST(RelayStateTest, TotalReservationLimit) {
  RelayLimits limits;
  limits.max_reservations = 3;
  Relay r(limits);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(r.state.reserve(random_peer(), "203.0.113." + std::to_string(i), t0));
  auto refused = r.state.reserve(random_peer(), "203.0.113.9", t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), (Refusal{Status::reservation_refused, RefusalReason::too_many_reservations}));
  EXPECT_EQ(r.state.counters().refusals_for(RefusalReason::too_many_reservations), 1u);
  EXPECT_EQ(r.state.counters().refusals_with(Status::reservation_refused), 1u);
  // Once the others expire there is room again.
  EXPECT_TRUE(r.state.reserve(random_peer(), "203.0.113.9", t0 + 1h));
  EXPECT_EQ(r.state.reservation_count(), 1u);
}

TEST(RelayStateTest, PerPeerReservationLimit) {
  Relay r;
  const auto peer = random_peer();
  ASSERT_TRUE(r.state.reserve(peer, "203.0.113.5", t0));
  auto refused = r.state.reserve(peer, "203.0.113.6", t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), (Refusal{Status::reservation_refused, RefusalReason::too_many_reservations_for_peer}));
  // After its connection closes the peer can reserve from its new address.
  r.state.drop_reservations(peer);
  EXPECT_FALSE(r.state.has_reservation(peer, t0));
  EXPECT_TRUE(r.state.reserve(peer, "203.0.113.6", t0));
}

TEST(RelayStateTest, PerIpReservationLimit) {
  Relay r;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(r.state.reserve(random_peer(), "203.0.113.5", t0));
  auto refused = r.state.reserve(random_peer(), "203.0.113.5", t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), (Refusal{Status::reservation_refused, RefusalReason::too_many_reservations_for_ip}));
  EXPECT_TRUE(r.state.reserve(random_peer(), "203.0.113.6", t0)) << "another IP is not affected";

  Relay lifted(RelayLimits::private_relay());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(lifted.state.reserve(random_peer(), "203.0.113.5", t0));
}

TEST(RelayStateTest, ReservationFloodIsBoundedAndOthersKeepBeingServed) {
  Relay r;
  const auto flooder = random_peer();
  ASSERT_TRUE(r.state.reserve(flooder, "203.0.113.66", t0));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(r.state.reserve(random_peer(), "203.0.113.66", t0) && i >= 7);
  EXPECT_EQ(r.state.reservation_count(), 8u);
  EXPECT_TRUE(r.state.reserve(random_peer(), "198.51.100.20", t0));
}

TEST(RelayStateTest, AllowList) {
  Relay r(RelayLimits::private_relay());
  const auto friend_peer = random_peer();
  const auto stranger = random_peer();
  r.state.set_allowlist(std::set<crypto::PeerId>{friend_peer});
  auto refused = r.state.reserve(stranger, "203.0.113.5", t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), (Refusal{Status::permission_denied, RefusalReason::permission_denied}));
  ASSERT_TRUE(r.state.reserve(friend_peer, "203.0.113.5", t0));
  auto circuit = r.state.open_circuit(stranger, friend_peer, t0);
  ASSERT_FALSE(circuit);
  EXPECT_EQ(circuit.error().status, Status::permission_denied);
  EXPECT_TRUE(r.state.open_circuit(friend_peer, friend_peer, t0));
  r.state.set_allowlist(std::nullopt);
  EXPECT_TRUE(r.state.open_circuit(stranger, friend_peer, t0));
}

TEST(RelayStateTest, CircuitNeedsAReservation) {
  Relay r;
  const auto src = random_peer();
  const auto dst = random_peer();
  auto refused = r.state.open_circuit(src, dst, t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), (Refusal{Status::no_reservation, RefusalReason::no_reservation}));
  ASSERT_TRUE(r.state.reserve(dst, "203.0.113.5", t0));
  auto circuit = r.state.open_circuit(src, dst, t0);
  ASSERT_TRUE(circuit);
  EXPECT_EQ(circuit->limit, (Limit{120, 131072}));
  EXPECT_EQ(circuit->deadline, t0 + 2min);
  EXPECT_EQ(r.state.circuits_of(src), 1u);
  EXPECT_EQ(r.state.circuits_of(dst), 1u);
  // An expired reservation is no reservation, even before expire() ran.
  auto late = r.state.open_circuit(src, dst, t0 + 1h);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().status, Status::no_reservation);
  EXPECT_EQ(r.state.counters().refusals_with(Status::no_reservation), 2u);
}

TEST(RelayStateTest, CircuitsPerPeerLimitBothEnds) {
  Relay r;
  const auto dst = random_peer();
  ASSERT_TRUE(r.state.reserve(dst, "203.0.113.5", t0));
  std::vector<CircuitId> ids;
  for (int i = 0; i < 16; ++i) {
    auto c = r.state.open_circuit(random_peer(), dst, t0);
    ASSERT_TRUE(c);
    ids.push_back(c->id);
  }
  auto refused = r.state.open_circuit(random_peer(), dst, t0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(),
            (Refusal{Status::resource_limit_exceeded, RefusalReason::too_many_circuits_for_destination}));
  r.state.close_circuit(ids[0]);
  r.state.close_circuit(ids[0]);  // twice: ignored
  r.state.close_circuit(999999);  // unknown: ignored
  EXPECT_EQ(r.state.circuit_count(), 15u);
  EXPECT_TRUE(r.state.open_circuit(random_peer(), dst, t0));

  // The source's own count is limited too.
  Relay s;
  const auto src = random_peer();
  for (int i = 0; i < 16; ++i) {
    const auto target = random_peer();
    ASSERT_TRUE(s.state.reserve(target, "203.0.113." + std::to_string(i), t0));
    ASSERT_TRUE(s.state.open_circuit(src, target, t0));
  }
  const auto target = random_peer();
  ASSERT_TRUE(s.state.reserve(target, "203.0.113.100", t0));
  auto too_many = s.state.open_circuit(src, target, t0);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error(), (Refusal{Status::resource_limit_exceeded, RefusalReason::too_many_circuits_for_source}));
  EXPECT_EQ(s.state.counters().refusals_with(Status::resource_limit_exceeded), 1u);
}

TEST(RelayStateTest, CircuitDurationEndsInExpire) {
  Relay r;
  const auto dst = random_peer();
  ASSERT_TRUE(r.state.reserve(dst, "203.0.113.5", t0));
  const auto a = r.state.open_circuit(random_peer(), dst, t0).value().id;
  const auto b = r.state.open_circuit(random_peer(), dst, t0 + 1min).value().id;
  EXPECT_EQ(r.state.next_deadline(), t0 + 2min);
  EXPECT_TRUE(r.state.expire(t0 + 2min - 1s).empty());
  EXPECT_EQ(r.state.expire(t0 + 2min), std::vector<CircuitId>{a});
  EXPECT_EQ(r.state.next_deadline(), t0 + 3min);
  EXPECT_EQ(r.state.expire(t0 + 3min), std::vector<CircuitId>{b});
  EXPECT_EQ(r.state.circuit_count(), 0u);
  EXPECT_EQ(r.state.circuits_of(dst), 0u);
  EXPECT_EQ(r.state.counters().circuits_timed_out, 2u);
  EXPECT_EQ(r.state.counters().circuits_closed, 2u);
  EXPECT_EQ(r.state.next_deadline(), t0 + 1h) << "the reservation is left";
  EXPECT_TRUE(r.state.expire(t0 + 1h).empty());
  EXPECT_EQ(r.state.reservation_count(), 0u);
  EXPECT_EQ(r.state.counters().reservations_expired, 1u);
  EXPECT_EQ(r.state.next_deadline(), std::nullopt);
}

TEST(RelayStateTest, ReserveNeverEndsACircuitBehindTheIoLayersBack) {
  Relay r;
  const auto dst = random_peer();
  ASSERT_TRUE(r.state.reserve(dst, "203.0.113.5", t0));
  const auto id = r.state.open_circuit(random_peer(), dst, t0).value().id;
  ASSERT_TRUE(r.state.reserve(random_peer(), "203.0.113.6", t0 + 10min));
  EXPECT_EQ(r.state.circuit_count(), 1u) << "only expire() ends circuits, and it says which";
  EXPECT_EQ(r.state.expire(t0 + 10min), std::vector<CircuitId>{id});
}

TEST(RelayStateTest, CircuitBytesPerDirection) {
  Relay r;
  const auto dst = random_peer();
  ASSERT_TRUE(r.state.reserve(dst, "203.0.113.5", t0));
  const auto id = r.state.open_circuit(random_peer(), dst, t0).value().id;
  EXPECT_EQ(r.state.allowance(id, Direction::source_to_destination), 131072u);
  r.state.add_relayed(id, Direction::source_to_destination, 131000);
  EXPECT_EQ(r.state.allowance(id, Direction::source_to_destination), 72u);
  EXPECT_EQ(r.state.allowance(id, Direction::destination_to_source), 131072u) << "each direction has its own";
  r.state.add_relayed(id, Direction::source_to_destination, 100);
  EXPECT_EQ(r.state.allowance(id, Direction::source_to_destination), 0u);
  EXPECT_EQ(r.state.counters().bytes_relayed, 131100u);
  r.state.close_circuit(id);
  EXPECT_EQ(r.state.allowance(id, Direction::destination_to_source), 0u) << "closed";
}

TEST(RelayStateTest, PrivateRelayCircuitsHaveNoLimit) {
  Relay r(RelayLimits::private_relay());
  const auto dst = random_peer();
  auto grant = r.state.reserve(dst, "203.0.113.5", t0).value();
  EXPECT_EQ(grant.limit, std::nullopt);
  EXPECT_EQ(grant.response().limit, std::nullopt);
  auto circuit = r.state.open_circuit(random_peer(), dst, t0).value();
  EXPECT_EQ(circuit.limit, std::nullopt);
  EXPECT_EQ(circuit.deadline, std::nullopt);
  r.state.add_relayed(circuit.id, Direction::destination_to_source, 1'000'000'000);
  EXPECT_EQ(r.state.allowance(circuit.id, Direction::destination_to_source), UINT64_MAX);
  EXPECT_TRUE(r.state.expire(t0 + 24h).empty());
  EXPECT_EQ(r.state.circuit_count(), 1u) << "a circuit outlives the reservation it was opened under";
}

TEST(RelayStateTest, RefusalsCountedByReasonIncludingIoLayerOnes) {
  Relay r;
  r.state.count_refusal(RefusalReason::malformed_message);
  r.state.count_refusal(RefusalReason::unexpected_message);
  r.state.count_refusal(RefusalReason::connection_failed);
  EXPECT_EQ(r.state.counters().refusals_with(Status::malformed_message), 1u);
  EXPECT_EQ(r.state.counters().refusals_with(Status::unexpected_message), 1u);
  EXPECT_EQ(r.state.counters().refusals_with(Status::connection_failed), 1u);
  EXPECT_EQ(r.state.counters().total_refusals(), 3u);
  for (std::size_t i = 0; i < kRefusalReasons; ++i) {
    const auto reason = static_cast<RefusalReason>(i);
    EXPECT_NE(to_string(reason), "unknown");
    EXPECT_NE(status_for(reason), Status::ok);
  }
  // value() on a refusal throws with the status in the message.
  auto refused = r.state.open_circuit(random_peer(), random_peer(), t0);
  try {
    (void)refused.value();
    FAIL();
  } catch (const ErrorException& e) {
    EXPECT_NE(std::string(e.what()).find("NO_RESERVATION"), std::string::npos);
  }
}

}  // namespace
}  // namespace stargate::p2p::relay
