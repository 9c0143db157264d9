#include "p2p/protocols/kad/records.hpp"

#include "crypto/peer_id.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::kad {
namespace {

using namespace std::chrono_literals;

TEST(RecordValidators, PublicKeyRecordsMustHashToTheirKey) {
  RecordValidators validators;
  auto key = crypto::Ed25519PrivateKey::generate();
  auto other = crypto::Ed25519PrivateKey::generate();
  auto id = crypto::PeerId::from_public_key(key.public_key());
  auto record_key = public_key_record_key(id.bytes());
  EXPECT_EQ(validators.validate(record_key, crypto::encode_public_key_proto(key.public_key())), "");
  EXPECT_NE(validators.validate(record_key, crypto::encode_public_key_proto(other.public_key())), "");
  EXPECT_NE(validators.validate(record_key, Bytes{1, 2, 3}), "");
}

TEST(RecordValidators, UnknownNamespacesAreRefusedAndCustomOnesSelect) {
  RecordValidators validators;
  const Bytes key{'/', 'a', 'p', 'p', '/', 'k'};
  EXPECT_NE(validators.validate(key, Bytes{1}), "");
  EXPECT_NE(validators.validate(Bytes{'n', 'o', 's', 'l', 'a', 's', 'h'}, Bytes{1}), "");
  RecordValidator larger_wins;
  larger_wins.validate = [](BytesView, BytesView value) { return value.empty() ? std::string("empty") : std::string(); };
  larger_wins.select = [](BytesView, const std::vector<Bytes>& values) {
    return static_cast<std::size_t>(std::max_element(values.begin(), values.end()) - values.begin());
  };
  validators.add("app", larger_wins);
  EXPECT_EQ(validators.validate(key, Bytes{1}), "");
  EXPECT_NE(validators.validate(key, Bytes{}), "");
  EXPECT_EQ(validators.select(key, {Bytes{1}, Bytes{9}, Bytes{3}}), 1u);
}

TEST(RecordStore, BoundedBySizeAndCountAndExpires) {
  RecordStore store(RecordStoreConfig{.max_records = 2, .max_value_size = 4, .ttl = 10s});
  const RecordStore::Time t0{};
  EXPECT_FALSE(store.put(Bytes{1}, Bytes(5, 0), t0));
  EXPECT_TRUE(store.put(Bytes{1}, Bytes{1}, t0));
  EXPECT_TRUE(store.put(Bytes{2}, Bytes{2}, t0));
  EXPECT_FALSE(store.put(Bytes{3}, Bytes{3}, t0 + 1s));
  EXPECT_TRUE(store.put(Bytes{2}, Bytes{4}, t0 + 1s));  // replacing is always possible
  EXPECT_EQ(store.get(Bytes{2}, t0 + 2s), Bytes{4});
  EXPECT_FALSE(store.get(Bytes{1}, t0 + 10s));
  EXPECT_TRUE(store.put(Bytes{3}, Bytes{3}, t0 + 10s));  // the expired one made room
  EXPECT_EQ(store.size(), 2u);
}

}  // namespace
}  // namespace stargate::p2p::kad
