#include "agent/result_cache.hpp"

#include <gtest/gtest.h>

namespace stargate::agent {
namespace {

using namespace std::chrono_literals;
using State = ResultCache::State;

TEST(ResultCache, FirstRunThenJoinThenAnswerAgain) {
  ResultCache cache;
  auto t = std::chrono::steady_clock::now();
  auto key = ResultCache::key("caller", "42");
  EXPECT_EQ(cache.begin(key, t), State::fresh);
  EXPECT_EQ(cache.begin(key, t), State::running);  // a retry while the first run goes on
  EXPECT_EQ(cache.response(key), nullptr);
  cache.finish(key, "answer");
  EXPECT_EQ(cache.begin(key, t + 1s), State::done);
  EXPECT_EQ(*cache.response(key), "answer");
  // Another caller with the same request ID is another request.
  EXPECT_EQ(cache.begin(ResultCache::key("other", "42"), t), State::fresh);
}

TEST(ResultCache, ExpiresAfterRetentionAndAbandonedRunsRunAgain) {
  ResultCache cache(ResultCacheLimits{100, 10s, 1 << 20});
  auto t = std::chrono::steady_clock::now();
  auto key = ResultCache::key("c", "1");
  cache.begin(key, t);
  cache.finish(key, "r");
  EXPECT_EQ(cache.begin(key, t + 9s), State::done);
  EXPECT_EQ(cache.begin(key, t + 11s), State::fresh);  // forgotten after the retention
  auto lost = ResultCache::key("c", "2");
  cache.begin(lost, t + 11s);
  cache.abandon(lost);
  EXPECT_EQ(cache.begin(lost, t + 12s), State::fresh);
  cache.abandon(ResultCache::key("c", "3"));  // unknown: nothing happens
}

TEST(ResultCache, BoundedOldestFirst) {
  ResultCache cache(ResultCacheLimits{3, 1h, 1 << 20});
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    auto key = ResultCache::key("c", std::to_string(i));
    EXPECT_EQ(cache.begin(key, t + std::chrono::seconds(i)), State::fresh);
    cache.finish(key, "r" + std::to_string(i));
  }
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.evicted(), 2u);
  EXPECT_EQ(cache.state(ResultCache::key("c", "0")), State::fresh);
  EXPECT_EQ(cache.state(ResultCache::key("c", "4")), State::done);
}

TEST(ResultCache, BoundedInBytesOldestFirstNewestAlwaysKept) {
  ResultCache cache(ResultCacheLimits{100, 1h, 250});
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    auto key = ResultCache::key("c", std::to_string(i));
    EXPECT_EQ(cache.begin(key, t + std::chrono::seconds(i)), State::fresh);
    cache.finish(key, std::string(100, 'x'));
  }
  EXPECT_EQ(cache.bytes(), 200u);
  EXPECT_EQ(cache.evicted(), 2u);
  EXPECT_EQ(cache.state(ResultCache::key("c", "1")), State::fresh);
  EXPECT_EQ(cache.state(ResultCache::key("c", "3")), State::done);
  // One response over the whole budget: the others go, it stays.
  auto big = ResultCache::key("c", "big");
  cache.begin(big, t + 10s);
  auto shared = std::make_shared<const std::string>(std::string(1000, 'y'));
  cache.finish(big, shared);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), 1000u);
  EXPECT_EQ(cache.shared_response(big), shared);  // the same string, not a copy
  cache.begin(ResultCache::key("c", "later"), t + 20s);
  EXPECT_EQ(cache.bytes(), 1000u);  // running entries hold no bytes
}

}  // namespace
}  // namespace stargate::agent
