#include "p2p/protocols/autonat/server_policy.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::autonat {
namespace {

using test::addr;
using test::some_peer;

using namespace std::chrono_literals;

struct ServerPolicyTest : ::testing::Test {
  ServerPolicy policy{AddressClassifier(Cidr::parse_list("127.0.0.0/8").value()), ServerLimits{}};
  crypto::PeerId peer = some_peer();
  ServerPolicy::TimePoint now{};
  Multiaddr observed = addr("/ip4/1.2.3.4/tcp/50123");

  std::variant<DialPlan, Refusal> ask(std::vector<Multiaddr> addrs, bool relayed = false) {
    return policy.decide(peer, observed, relayed, DialRequest{peer, std::move(addrs)}, now);
  }
  static std::optional<RefusalReason> refused(const std::variant<DialPlan, Refusal>& d) {
    if (const auto* r = std::get_if<Refusal>(&d)) return r->reason;
    return std::nullopt;
  }
};

TEST_F(ServerPolicyTest, DialsOnlyTheRequestersIp) {
  auto d = ask({addr("/ip4/5.6.7.8/tcp/4001"), addr("/ip4/1.2.3.4/tcp/4001"), addr("/ip4/1.2.3.4/tcp/4001/p2p/" + peer.to_string()),
                addr("/ip4/1.2.3.4/udp/4001/quic-v1"), addr("/ip4/1.2.3.4/tcp/4002")});
  ASSERT_FALSE(refused(d));
  EXPECT_EQ(std::get<DialPlan>(d).addrs, (std::vector<Multiaddr>{addr("/ip4/1.2.3.4/tcp/4001"), addr("/ip4/1.2.3.4/tcp/4002")}));
  auto other = ask({addr("/ip4/5.6.7.8/tcp/4001")});
  EXPECT_EQ(refused(other), RefusalReason::no_dialable_addr);
  EXPECT_EQ(std::get<Refusal>(other).response().status, Status::dial_refused);
}

TEST_F(ServerPolicyTest, NoAddressMeansTheObservedOne) {
  auto d = ask({});
  ASSERT_FALSE(refused(d));
  EXPECT_EQ(std::get<DialPlan>(d).addrs, std::vector<Multiaddr>{observed});
}

TEST_F(ServerPolicyTest, RefusesRelayedBadAndNonPublicRequests) {
  EXPECT_EQ(refused(ask({addr("/ip4/1.2.3.4/tcp/1")}, true)), RefusalReason::relayed);
  auto bad = policy.decide(peer, observed, false, Result<DialRequest>(make_error("garbage")), now);
  EXPECT_EQ(refused(bad), RefusalReason::bad_request);
  EXPECT_EQ(std::get<Refusal>(bad).response().status, Status::bad_request);
  auto impostor = policy.decide(peer, observed, false, DialRequest{some_peer(), {}}, now);
  EXPECT_EQ(refused(impostor), RefusalReason::bad_request);
  observed = addr("/ip4/192.168.1.2/tcp/5");
  EXPECT_EQ(refused(ask({addr("/ip4/192.168.1.2/tcp/4001")})), RefusalReason::observed_not_public);
  observed = addr("/ip4/127.0.0.1/tcp/5");  // treated as public here
  EXPECT_FALSE(refused(ask({addr("/ip4/127.0.0.1/tcp/4001")})));
  const auto& c = policy.counters();
  EXPECT_EQ(c.refused[static_cast<std::size_t>(RefusalReason::bad_request)], 2u);
  EXPECT_EQ(c.refused[static_cast<std::size_t>(RefusalReason::relayed)], 1u);
  EXPECT_EQ(c.requests, 5u);
}

TEST_F(ServerPolicyTest, AtMostMaxAddrsDialed) {
  std::vector<Multiaddr> many;
  for (int port = 1; port <= 10; ++port) many.push_back(addr("/ip4/1.2.3.4/tcp/" + std::to_string(port)));
  auto d = ask(many);
  EXPECT_EQ(std::get<DialPlan>(d).addrs.size(), ServerLimits{}.max_addrs_dialed);
}

TEST_F(ServerPolicyTest, RateLimitsPerPeerAndOverall) {
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(refused(ask({}))) << i;
  EXPECT_EQ(refused(ask({})), RefusalReason::rate_limited);
  now += 59s;
  EXPECT_EQ(refused(ask({})), RefusalReason::rate_limited);
  now += 2s;  // the first grants left the window
  EXPECT_FALSE(refused(ask({})));
  // Overall: 30 a minute, whoever asks.
  ServerPolicy fresh{AddressClassifier{}, ServerLimits{}};
  std::size_t granted = 0;
  for (int i = 0; i < 40; ++i) {
    auto requester = some_peer();
    if (std::holds_alternative<DialPlan>(fresh.decide(requester, observed, false, DialRequest{}, now))) ++granted;
  }
  EXPECT_EQ(granted, 30u);
  EXPECT_EQ(fresh.counters().refused[static_cast<std::size_t>(RefusalReason::rate_limited)], 10u);
}

}  // namespace
}  // namespace stargate::p2p::autonat
