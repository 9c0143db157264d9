#include "p2p/protocols/gossipsub/message_cache.hpp"
#include "p2p/protocols/gossipsub/seen_cache.hpp"

#include "helpers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::gossipsub {
namespace {

using namespace std::chrono_literals;

TEST(GossipsubSeenCache, ExpiresAfterTtl) {
  SeenCache seen(120s, 100);
  EXPECT_TRUE(seen.insert("a", test::t0()));
  EXPECT_FALSE(seen.insert("a", test::t0() + 1s));
  seen.expire(test::t0() + 119s);
  EXPECT_TRUE(seen.contains("a"));
  seen.expire(test::t0() + 120s);
  EXPECT_FALSE(seen.contains("a"));
  EXPECT_TRUE(seen.insert("a", test::t0() + 121s));
}

TEST(GossipsubSeenCache, BoundedByEntries) {
  SeenCache seen(120s, 3);
  for (const char* id : {"a", "b", "c", "d"}) seen.insert(id, test::t0());
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen.contains("a"));  // the oldest went first
  EXPECT_TRUE(seen.contains("d"));
}

TEST(GossipsubMessageCache, GossipWindowsAndHistory) {
  test::Identity author;
  MessageCache cache(5, 3);
  auto m1 = test::signed_message(author, "t", "1", 1);
  cache.put(message_id(m1), m1);
  auto other = test::signed_message(author, "u", "2", 2);
  cache.put(message_id(other), other);
  EXPECT_EQ(cache.gossip_ids("t"), std::vector<MessageId>{message_id(m1)});
  for (int i = 0; i < 3; ++i) cache.shift();
  // Out of the gossip windows, still in the history: served, not advertised.
  EXPECT_TRUE(cache.gossip_ids("t").empty());
  EXPECT_TRUE(cache.contains(message_id(m1)));
  for (int i = 0; i < 2; ++i) cache.shift();
  EXPECT_FALSE(cache.contains(message_id(m1)));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(GossipsubMessageCache, ServesAPeerAtMostMaxTransmissions) {
  test::Identity author, peer, other;
  MessageCache cache(5, 3, 2);
  auto m = test::signed_message(author, "t", "1", 1);
  cache.put(message_id(m), m);
  EXPECT_NE(cache.serve(message_id(m), peer.id), nullptr);
  EXPECT_NE(cache.serve(message_id(m), peer.id), nullptr);
  EXPECT_EQ(cache.serve(message_id(m), peer.id), nullptr);
  EXPECT_NE(cache.serve(message_id(m), other.id), nullptr);
  EXPECT_EQ(cache.serve("unknown", peer.id), nullptr);
}

}  // namespace
}  // namespace stargate::p2p::gossipsub
