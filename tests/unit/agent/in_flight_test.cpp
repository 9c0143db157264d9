// The calls a node reads or serves at once, shared among callers (agent/in_flight.hpp).
#include "agent/in_flight.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stargate::agent {
namespace {

using Refusal = InFlightCalls::Refusal;

TEST(InFlightCalls, OneCallerTakesNoMoreThanItsShare) {
  InFlightCalls calls({8, 2, 6});
  Refusal why = Refusal::none;
  auto t1 = calls.enter("mallory", std::string("192.0.2.1"), why);
  auto t2 = calls.enter("mallory", std::string("192.0.2.1"), why);
  ASSERT_TRUE(t1 && t2);
  EXPECT_FALSE(calls.enter("mallory", std::string("192.0.2.1"), why));
  EXPECT_EQ(why, Refusal::peer);
  // Another caller is served meanwhile.
  auto honest = calls.enter("alice", std::string("198.51.100.2"), why);
  EXPECT_TRUE(honest);
  EXPECT_EQ(why, Refusal::none);
  EXPECT_EQ(calls.total(), 3u);
  // A place given back is free again.
  t1.release();
  EXPECT_EQ(calls.of_peer("mallory"), 1u);
  EXPECT_TRUE(calls.enter("mallory", std::string("192.0.2.1"), why));
}

TEST(InFlightCalls, ManyIdentitiesOnOneIpShareThatIpsPart) {
  InFlightCalls calls({8, 2, 3});
  Refusal why = Refusal::none;
  std::vector<InFlightCalls::Ticket> held;
  for (const char* peer : {"m1", "m2", "m3"}) held.push_back(calls.enter(peer, std::string("192.0.2.1"), why));
  EXPECT_FALSE(calls.enter("m4", std::string("192.0.2.1"), why));
  EXPECT_EQ(why, Refusal::ip);
  // A relayed caller has no IP of its own: only its peer share and the total apply.
  EXPECT_TRUE(calls.enter("m4", std::nullopt, why));
  EXPECT_EQ(calls.of_ip("192.0.2.1"), 3u);
}

TEST(InFlightCalls, TheTotalBoundsEveryone) {
  InFlightCalls calls({2, 2, 2});
  Refusal why = Refusal::none;
  auto a = calls.enter("a", std::nullopt, why);
  auto b = calls.enter("b", std::nullopt, why);
  EXPECT_FALSE(calls.enter("c", std::nullopt, why));
  EXPECT_EQ(why, Refusal::node);
  EXPECT_EQ(to_string(why), "node");
  {
    auto moved = std::move(a);  // a moved ticket is released once, by its new owner
    EXPECT_FALSE(a);
  }
  EXPECT_EQ(calls.total(), 1u);
  EXPECT_TRUE(calls.enter("c", std::nullopt, why));
}

}  // namespace
}  // namespace stargate::agent
