#include "p2p/protocols/kad/lookup.hpp"
#include "p2p/protocols/kad/routing_table.hpp"

#include "unit/peers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace stargate::p2p::kad {
namespace {

using test::some_peer;

// A network simulated in memory: every node's routing table holds what k-buckets of 20 keep of
// all the others, and a node answers a lookup with the 20 closest it knows.
struct SimulatedNetwork {
  explicit SimulatedNetwork(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) ids.push_back(some_peer());
    for (const auto& id : ids) {
      auto& table = tables.emplace(id, RoutingTable(id)).first->second;
      for (const auto& other : ids) table.add(other, {}, SteadyTime{});
    }
  }
  std::vector<Candidate> answer(const crypto::PeerId& node, const KadKey& target) const {
    std::vector<Candidate> out;
    for (const auto& e : tables.at(node).closest(target, 20)) out.push_back(Candidate{e.peer, {}});
    return out;
  }
  std::vector<crypto::PeerId> truly_closest(const KadKey& target, std::size_t n) const {
    auto sorted = ids;
    std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
      return distance(key_of(a), target) < distance(key_of(b), target);
    });
    sorted.resize(n);
    return sorted;
  }
  std::vector<crypto::PeerId> ids;
  std::map<crypto::PeerId, RoutingTable> tables;
};

TEST(Lookup, ConvergesOnTheClosestPeersWithAlphaInFlight) {
  SimulatedNetwork net(300);
  const auto& self = net.ids[0];
  const auto target = key_of(some_peer());
  Lookup lookup(target, self, net.answer(self, target));
  std::size_t rounds = 0;
  while (!lookup.finished()) {
    auto batch = lookup.next();
    ASSERT_LE(lookup.in_flight(), 3u);
    ASSERT_FALSE(batch.empty());
    for (const auto& c : batch) lookup.on_response(c.peer, net.answer(c.peer, target));
    ASSERT_LT(++rounds, 100u);
  }
  auto found = lookup.closest_answered(20);
  auto truth = net.truly_closest(target, 20);
  truth.erase(std::remove(truth.begin(), truth.end(), self), truth.end());
  std::size_t hits = 0;
  for (const auto& t : truth)
    if (std::any_of(found.begin(), found.end(), [&](const Candidate& c) { return c.peer == t; })) ++hits;
  EXPECT_GE(hits, truth.size() - 1);
  EXPECT_EQ(found.front().peer, truth.front());
  EXPECT_GE(lookup.hops(), 1u);
  EXPECT_LT(lookup.requests_sent(), 100u);  // far fewer than asking everyone
}

TEST(Lookup, FailuresAreSkippedAndEveryoneFailingEndsIt) {
  auto self = some_peer();
  std::vector<Candidate> seeds;
  for (int i = 0; i < 5; ++i) seeds.push_back(Candidate{some_peer(), {}});
  Lookup lookup(key_of(some_peer()), self, seeds, LookupConfig{.alpha = 2, .k = 20, .max_candidates = 256});
  std::size_t asked = 0;
  while (!lookup.finished()) {
    auto batch = lookup.next();
    ASSERT_FALSE(batch.empty());
    EXPECT_LE(batch.size(), 2u);
    for (const auto& c : batch) lookup.on_failure(c.peer);
    asked += batch.size();
  }
  EXPECT_EQ(asked, 5u);
  EXPECT_EQ(lookup.failures(), 5u);
  EXPECT_TRUE(lookup.closest_answered(20).empty());
}

TEST(Lookup, AStalledPeerFreesItsSlotAndDoesNotHoldUpTheEnd) {
  auto self = some_peer();
  std::vector<Candidate> seeds;
  for (int i = 0; i < 4; ++i) seeds.push_back(Candidate{some_peer(), {}});
  Lookup lookup(key_of(some_peer()), self, seeds, LookupConfig{.alpha = 3, .k = 20, .max_candidates = 256});
  auto first = lookup.next();
  ASSERT_EQ(first.size(), 3u);
  lookup.on_stalled(first[0].peer);  // a dead peer: its slot goes to the fourth seed
  auto second = lookup.next();
  ASSERT_EQ(second.size(), 1u);
  for (const auto& c : {first[1], first[2], second[0]}) lookup.on_response(c.peer, {});
  EXPECT_TRUE(lookup.finished());  // without waiting for the stalled one
  EXPECT_EQ(lookup.closest_answered(20).size(), 3u);
  // Its late answer still counts.
  lookup.on_response(first[0].peer, {});
  EXPECT_EQ(lookup.closest_answered(20).size(), 4u);
}

TEST(Lookup, IgnoresSelfDuplicatesAndStrayAnswers) {
  auto self = some_peer();
  auto a = some_peer(), stranger = some_peer();
  Lookup lookup(key_of(some_peer()), self, {Candidate{a, {}}, Candidate{a, {}}, Candidate{self, {}}});
  auto batch = lookup.next();
  ASSERT_EQ(batch.size(), 1u);
  lookup.on_response(stranger, {Candidate{some_peer(), {}}});  // never asked: ignored
  EXPECT_EQ(lookup.in_flight(), 1u);
  lookup.on_response(a, {Candidate{self, {}}, Candidate{a, {}}});
  EXPECT_TRUE(lookup.finished());
  EXPECT_EQ(lookup.closest_answered(20).size(), 1u);
}

TEST(Lookup, CandidatesAreBounded) {
  auto self = some_peer();
  auto a = some_peer();
  Lookup lookup(key_of(some_peer()), self, {Candidate{a, {}}}, LookupConfig{.alpha = 3, .k = 20, .max_candidates = 50});
  lookup.next();
  std::vector<Candidate> flood;
  for (int i = 0; i < 500; ++i) flood.push_back(Candidate{some_peer(), {}});
  lookup.on_response(a, flood);
  std::size_t handed_out = 0;
  while (!lookup.finished()) {
    auto batch = lookup.next();
    handed_out += batch.size();
    for (const auto& c : batch) lookup.on_response(c.peer, {});
  }
  EXPECT_LE(handed_out, 50u);
}

}  // namespace
}  // namespace stargate::p2p::kad
