// The sans-IO cores of the NATS transport draw their randomness (ephemeral keys, early-data keys,
// session indices, chunk message ids) from an injected source: with a seeded one their output is
// reproducible byte for byte.
#include "base/endian.hpp"
#include "nats/sealed/chunking.hpp"
#include "nats/sealed/session_table.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

namespace stargate::nats::sealed {
namespace {

const TimePoint randomness_start = TimePoint{} + std::chrono::seconds(1'700'000'000);

crypto::RandomSource seeded(std::uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine](MutableBytesView out) {
    for (auto& b : out) b = static_cast<std::uint8_t>((*engine)());
  };
}

struct Keys {
  crypto::Ed25519PrivateKey identity;
  crypto::X25519PrivateKey static_key;
  explicit Keys(std::uint8_t fill)
      : identity(crypto::Ed25519PrivateKey::from_seed(Bytes(32, fill)).value()),
        static_key(crypto::X25519PrivateKey::from_bytes(Bytes(32, static_cast<std::uint8_t>(fill + 1))).value()) {}
};

// One request and its response between fresh tables whose randomness comes from `seed`.
struct Exchange {
  Sealed request;
  Bytes response;
};

Exchange exchange(std::uint64_t seed) {
  const Keys caller_keys(1), callee_keys(7);
  SessionTable caller(caller_keys.static_key, caller_keys.identity, {}, seeded(seed));
  SessionTable callee(callee_keys.static_key, callee_keys.identity, {}, seeded(seed + 1));
  Exchange e;
  e.request = caller.seal_request(callee.static_public_key(), as_bytes("request"), randomness_start).value();
  auto in = callee.open(e.request.wire, randomness_start).value();
  e.response = callee.seal_response(in.session, as_bytes("response"), randomness_start).value();
  auto back = caller.open(e.response, randomness_start).value();  // the deterministic handshake still completes
  EXPECT_EQ(as_string(back.plaintext), "response");
  return e;
}

TEST(SealedRandomness, ASeededSourceMakesTheTableDeterministic) {
  const Exchange a = exchange(42), b = exchange(42);
  EXPECT_EQ(a.request.wire, b.request.wire);  // sender index, ephemeral key, early key
  EXPECT_EQ(a.request.session, b.request.session);
  EXPECT_EQ(a.response, b.response);  // the responder's index and ephemeral key too

  // The session index is the source's first four bytes (big-endian), as drawn.
  std::array<std::uint8_t, 4> first{};
  seeded(42)(first);
  EXPECT_EQ(a.request.session.index, load_be32(first.data()));
  EXPECT_EQ(load_be32(a.request.wire.data() + 4), a.request.session.index);

  const Exchange c = exchange(43);
  EXPECT_NE(a.request.wire, c.request.wire);
  EXPECT_NE(a.response, c.response);
}

TEST(SealedRandomness, WithoutASourceTheSystemRandomnessIsUsed) {
  const Keys caller_keys(1), callee_keys(7);
  SessionTable one(caller_keys.static_key, caller_keys.identity);
  SessionTable two(caller_keys.static_key, caller_keys.identity);
  auto x = one.seal_request(callee_keys.static_key.public_key(), as_bytes("r"), randomness_start).value();
  auto y = two.seal_request(callee_keys.static_key.public_key(), as_bytes("r"), randomness_start).value();
  EXPECT_NE(x.wire, y.wire);
}

TEST(SealedRandomness, MessageIdsComeFromTheInjectedSource) {
  EXPECT_EQ(random_message_id(seeded(5)), random_message_id(seeded(5)));
  EXPECT_NE(random_message_id(seeded(5)), random_message_id(seeded(6)));
  EXPECT_NE(random_message_id(), random_message_id());
  const Bytes message(1000, 0xab);
  EXPECT_EQ(split(message, 100, random_message_id(seeded(9))).value(),
            split(message, 100, random_message_id(seeded(9))).value());
}

}  // namespace
}  // namespace stargate::nats::sealed
