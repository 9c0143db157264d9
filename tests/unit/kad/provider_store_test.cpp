#include "p2p/protocols/kad/provider_store.hpp"

#include "unit/peers.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::kad {
namespace {

using namespace std::chrono_literals;
using test::addr;
using test::some_peer;

const ProviderStore::Time providers_start{};
Bytes key(std::uint8_t b) { return Bytes{0x12, 0x20, b}; }

TEST(ProviderStore, StoresRefreshesAndExpires) {
  ProviderStore store(ProviderStoreConfig{.max_keys = 10, .max_providers_per_key = 10, .max_addrs_per_provider = 2,
                                          .ttl = 100s});
  auto p = some_peer(), q = some_peer();
  EXPECT_TRUE(store.add(key(1), p, {addr("/ip4/1.1.1.1/tcp/1"), addr("/ip4/1.1.1.1/tcp/2"), addr("/ip4/1.1.1.1/tcp/3")}, providers_start));
  EXPECT_TRUE(store.add(key(1), q, {}, providers_start + 50s));
  auto found = store.providers(key(1), providers_start + 60s, 10);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].provider, q);  // most recently refreshed first
  EXPECT_EQ(found[1].addrs.size(), 2u);  // addresses bounded
  // p expires at 100 s unless it republishes.
  EXPECT_EQ(store.providers(key(1), providers_start + 120s, 10).size(), 1u);
  store.add(key(1), p, {}, providers_start + 90s);
  EXPECT_EQ(store.providers(key(1), providers_start + 120s, 10).size(), 2u);
  EXPECT_EQ(store.records(), 2u);
  store.expire(providers_start + 1000s);
  EXPECT_EQ(store.keys(), 0u);
  EXPECT_TRUE(store.providers(key(1), providers_start, 10).empty());
}

TEST(ProviderStore, KeysAndProvidersAreBounded) {
  ProviderStore store(ProviderStoreConfig{.max_keys = 2, .max_providers_per_key = 3, .max_addrs_per_provider = 2,
                                          .ttl = 100s});
  EXPECT_TRUE(store.add(key(1), some_peer(), {}, providers_start));
  EXPECT_TRUE(store.add(key(2), some_peer(), {}, providers_start));
  EXPECT_FALSE(store.add(key(3), some_peer(), {}, providers_start + 1s));  // full of live keys
  EXPECT_TRUE(store.add(key(3), some_peer(), {}, providers_start + 200s));  // the others expired
  auto first = some_peer();
  store.add(key(3), first, {}, providers_start + 201s);
  for (int i = 0; i < 5; ++i) store.add(key(3), some_peer(), {}, providers_start + 202s + std::chrono::seconds(i));
  auto found = store.providers(key(3), providers_start + 210s, 100);
  EXPECT_EQ(found.size(), 3u);
  EXPECT_TRUE(std::none_of(found.begin(), found.end(), [&](const ProviderRecord& r) { return r.provider == first; }));
  EXPECT_EQ(store.providers(key(3), providers_start + 210s, 1).size(), 1u);
}

}  // namespace
}  // namespace stargate::p2p::kad
