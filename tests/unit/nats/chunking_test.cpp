#include "nats/sealed/chunking.hpp"

#include "base/endian.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace stargate::nats::sealed {
namespace {

using namespace std::chrono_literals;
using TP = Reassembler::TimePoint;

const TP chunking_start = TP{} + 1000s;

Bytes pattern(std::size_t n, std::uint32_t seed = 1) {
  Bytes b(n);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

MessageId id_of(std::uint8_t v) {
  MessageId id{};
  id.fill(v);
  return id;
}

std::vector<Bytes> chunks_of(const Bytes& m, std::size_t max_chunk, MessageId id) {
  auto r = split(m, max_chunk, id);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(*r) : std::vector<Bytes>{};
}

// Feeds every chunk; expects nullopt for all but the last, returns what the last gave.
std::optional<Bytes> feed_all(Reassembler& r, std::string_view sender, const std::vector<Bytes>& chunks, TP now = chunking_start) {
  std::optional<Bytes> out;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    auto res = r.add(sender, chunks[i], now);
    EXPECT_TRUE(res.has_value()) << "chunk " << i << ": " << (res ? "" : res.error().message);
    if (!res) return std::nullopt;
    if (i + 1 < chunks.size()) {
      EXPECT_FALSE(res->has_value()) << "completed early at chunk " << i;
    } else {
      out = std::move(*res);
    }
  }
  return out;
}

// Rewrites header fields of a chunk.
void set_u32(Bytes& c, std::size_t at, std::uint32_t v) { store_be32(c.data() + at, v); }
Bytes make_chunk(MessageId id, std::uint32_t index, std::uint32_t count, std::uint32_t total, std::size_t slice_len) {
  Bytes c(chunk_header_size + slice_len, 0xAB);
  c[0] = chunk_type;
  c[1] = chunk_version;
  c[2] = c[3] = 0;
  std::copy(id.begin(), id.end(), c.begin() + 4);
  set_u32(c, 20, index);
  set_u32(c, 24, count);
  set_u32(c, 28, total);
  return c;
}

TEST(Chunking, TypeByteCollidesWithNeitherSealedTypesNorJson) {
  for (std::uint8_t t : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{3}, std::uint8_t{'{'}}) {
    const Bytes b{t, 1, 0, 0};
    EXPECT_FALSE(is_chunk(b));
  }
  EXPECT_FALSE(is_chunk(Bytes{}));
  auto c = chunks_of(pattern(10), 64, id_of(1));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(is_chunk(c[0]));
}

TEST(Chunking, RoundTripSizesWithShuffledChunks) {
  const std::size_t max_chunk = 1000;
  const std::size_t room = max_chunk - chunk_header_size;
  std::mt19937 rng(42);
  std::uint8_t n = 0;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, room - 1, room, room + 1, 2 * room, 2 * room + 1,
                           std::size_t{100'003}}) {
    SCOPED_TRACE(size);
    const Bytes m = pattern(size, static_cast<std::uint32_t>(size));
    auto chunks = chunks_of(m, max_chunk, id_of(++n));
    const std::size_t expected_count = std::max<std::size_t>(1, (size + room - 1) / room);
    ASSERT_EQ(chunks.size(), expected_count);
    std::size_t carried = 0;
    for (const auto& c : chunks) {
      EXPECT_LE(c.size(), max_chunk);
      EXPECT_GT(c.size(), size == 0 ? chunk_header_size - 1 : chunk_header_size);  // none empty (but size 0)
      carried += c.size() - chunk_header_size;
    }
    EXPECT_EQ(carried, size);
    std::shuffle(chunks.begin(), chunks.end(), rng);
    Reassembler r;
    auto out = feed_all(r, "inbox.a", chunks);
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(*out, m);
    EXPECT_EQ(r.pending_bytes(), 0u);
    EXPECT_EQ(r.pending_messages(), 0u);
    EXPECT_EQ(r.pending_senders(), 0u);
    EXPECT_FALSE(r.next_expiry().has_value());
  }
}

TEST(Chunking, TenMegabytesThroughDefaultMaxPayload) {
  // A nats-server at its defaults announces max_payload = 1 MiB.
  const std::size_t max_chunk = 1024 * 1024 - 256;
  const Bytes m = pattern(10 * 1024 * 1024 + 264, 7);
  auto chunks = chunks_of(m, max_chunk, random_message_id());
  EXPECT_EQ(chunks.size(), 11u);
  std::reverse(chunks.begin(), chunks.end());
  std::swap(chunks[3], chunks[7]);
  Reassembler r;
  auto out = feed_all(r, "inbox.a", chunks);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(*out == m);
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(Chunking, PendingBytesAreThePreallocatedTotal) {
  Reassembler r;
  const Bytes m = pattern(5000);
  auto chunks = chunks_of(m, 1000, id_of(1));
  ASSERT_TRUE(r.add("a", chunks[2], chunking_start).value() == std::nullopt);
  EXPECT_EQ(r.pending_bytes(), 5000u);
  EXPECT_EQ(r.pending_messages(), 1u);
  EXPECT_EQ(r.next_expiry(), chunking_start + r.config().timeout);
}

TEST(Chunking, SplitRefusesChunkSizeWithoutRoom) {
  EXPECT_FALSE(split(pattern(10), chunk_header_size, id_of(1)).has_value());
  EXPECT_FALSE(split(pattern(10), 0, id_of(1)).has_value());
  EXPECT_TRUE(split(pattern(10), chunk_header_size + 1, id_of(1)).has_value());
}

TEST(Chunking, LostChunkExpiresAfterTimeoutAndFreesBytes) {
  Reassembler r;
  auto chunks = chunks_of(pattern(3000), 1000, id_of(1));
  ASSERT_EQ(chunks.size(), 4u);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) ASSERT_TRUE(r.add("a", chunks[i], chunking_start).has_value());
  EXPECT_EQ(r.pending_bytes(), 3000u);
  ASSERT_TRUE(r.next_expiry().has_value());
  EXPECT_EQ(*r.next_expiry(), chunking_start + 30s);
  r.expire(chunking_start + 29s);
  EXPECT_EQ(r.pending_bytes(), 3000u);
  r.expire(chunking_start + 30s);
  EXPECT_EQ(r.pending_bytes(), 0u);
  EXPECT_EQ(r.pending_messages(), 0u);
  EXPECT_EQ(r.pending_senders(), 0u);
  EXPECT_FALSE(r.next_expiry().has_value());
  // The missing chunk arriving late neither completes nor restarts the message.
  auto late = r.add("a", chunks.back(), chunking_start + 31s);
  ASSERT_TRUE(late.has_value());
  EXPECT_FALSE(late->has_value());
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(Chunking, AddExpiresBeforeCounting) {
  Reassembler::Config c;
  c.max_pending_messages_per_sender = 1;
  Reassembler r(c);
  auto a = chunks_of(pattern(3000, 1), 1000, id_of(1));
  auto b = chunks_of(pattern(3000, 2), 1000, id_of(2));
  ASSERT_TRUE(r.add("s", a[0], chunking_start).has_value());
  EXPECT_FALSE(r.add("s", b[0], chunking_start + 1s).has_value());  // over the per-sender bound
  // Once the first message timed out, a new one from the same sender is accepted.
  auto d = chunks_of(pattern(3000, 3), 1000, id_of(3));
  auto out = feed_all(r, "s", d, chunking_start + 31s);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, pattern(3000, 3));
}

TEST(Chunking, DuplicateChunksAreIgnored) {
  Reassembler r;
  const Bytes m = pattern(2500);
  auto chunks = chunks_of(m, 1000, id_of(1));
  ASSERT_EQ(chunks.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    auto res = r.add("a", chunks[0], chunking_start);
    ASSERT_TRUE(res.has_value());
    EXPECT_FALSE(res->has_value());
  }
  EXPECT_EQ(r.pending_bytes(), 2500u);
  ASSERT_TRUE(r.add("a", chunks[1], chunking_start).has_value());
  ASSERT_TRUE(r.add("a", chunks[1], chunking_start).has_value());
  auto out = r.add("a", chunks[2], chunking_start);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ(**out, m);
  // A duplicate after completion does not start a new message.
  auto after = r.add("a", chunks[0], chunking_start + 1s);
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->has_value());
  EXPECT_EQ(r.pending_bytes(), 0u);
  // Same for a single-chunk message delivered twice.
  auto one = chunks_of(pattern(10), 1000, id_of(9));
  EXPECT_TRUE(r.add("a", one[0], chunking_start).value().has_value());
  EXPECT_FALSE(r.add("a", one[0], chunking_start).value().has_value());
}

TEST(Chunking, DuplicateIndexWithOtherContentKeepsTheFirst) {
  Reassembler r;
  const Bytes m = pattern(2000);
  auto chunks = chunks_of(m, 1032, id_of(1));
  ASSERT_EQ(chunks.size(), 2u);
  Bytes forged = chunks[0];
  forged.back() ^= 0xFF;
  ASSERT_TRUE(r.add("a", chunks[0], chunking_start).has_value());
  ASSERT_TRUE(r.add("a", forged, chunking_start).has_value());
  auto out = r.add("a", chunks[1], chunking_start);
  ASSERT_TRUE(out.has_value() && out->has_value());
  EXPECT_EQ(**out, m);
}

TEST(Chunking, InconsistentHeadersAreRejectedAndTheMessageKept) {
  Reassembler r;
  const Bytes m = pattern(3000);
  auto chunks = chunks_of(m, 1000, id_of(1));
  ASSERT_EQ(chunks.size(), 4u);
  ASSERT_TRUE(r.add("a", chunks[0], chunking_start).has_value());
  // Same id, another (self-consistent) layout: count 3 over 3000 bytes.
  EXPECT_FALSE(r.add("a", make_chunk(id_of(1), 1, 3, 3000, 1000), chunking_start).has_value());
  // Same count, another total.
  EXPECT_FALSE(r.add("a", make_chunk(id_of(1), 1, 4, 2999, 750), chunking_start).has_value());
  EXPECT_EQ(r.pending_bytes(), 3000u);
  // The genuine message still completes.
  for (std::size_t i = 1; i < 3; ++i) ASSERT_TRUE(r.add("a", chunks[i], chunking_start).value() == std::nullopt);
  auto out = r.add("a", chunks[3], chunking_start);
  ASSERT_TRUE(out.has_value() && out->has_value());
  EXPECT_EQ(**out, m);
}

TEST(Chunking, MalformedChunksAreErrors) {
  Reassembler r;
  auto good = make_chunk(id_of(1), 0, 2, 10, 5);
  ASSERT_TRUE(parse_chunk(good).has_value());
  auto bad = [&](Bytes c, const char* what) {
    EXPECT_FALSE(parse_chunk(c).has_value()) << what;
    EXPECT_FALSE(r.add("a", c, chunking_start).has_value()) << what;
  };
  bad(Bytes(good.begin(), good.begin() + chunk_header_size - 1), "short header");
  Bytes c = good;
  c[0] = 3;
  bad(c, "type");
  c = good;
  c[1] = 2;
  bad(c, "version");
  c = good;
  c[3] = 1;
  bad(c, "reserved");
  bad(make_chunk(id_of(1), 0, 0, 10, 10), "count 0");
  bad(make_chunk(id_of(1), 2, 2, 10, 5), "index == count");
  bad(make_chunk(id_of(1), 0, 2, 0, 0), "total 0 in two chunks");
  bad(make_chunk(id_of(1), 0, 11, 10, 1), "more chunks than bytes");
  bad(make_chunk(id_of(1), 0, 6, 10, 2), "a trailing empty chunk (ceil(10/6)=2, 5*2=10)");
  bad(make_chunk(id_of(1), 0, 2, 10, 4), "slice too short");
  bad(make_chunk(id_of(1), 1, 2, 10, 6), "slice too long");
  bad(make_chunk(id_of(1), 2, 3, 10, 4), "last slice wrong (4,4,2)");
  EXPECT_TRUE(parse_chunk(make_chunk(id_of(1), 2, 3, 10, 2)).has_value());
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(Chunking, CountAndTotalOverBoundsAreRefusedBeforeAllocating) {
  Reassembler::Config c;
  c.max_message_bytes = 10'000;
  c.max_chunks_per_message = 16;
  Reassembler r(c);
  // Total over the bound.
  EXPECT_FALSE(r.add("a", make_chunk(id_of(1), 0, 2, 10'001, 5001), chunking_start).has_value());
  {
    // A well-formed 1 MiB chunk of a message claiming 4 GiB - 1, against the default bounds.
    Reassembler r0;
    EXPECT_FALSE(r0.add("a", make_chunk(id_of(1), 0, 4096, 0xFFFFFFFF, 1024 * 1024), chunking_start).has_value());
    EXPECT_EQ(r0.pending_bytes(), 0u);
  }
  // Count over the bound.
  EXPECT_FALSE(r.add("a", make_chunk(id_of(2), 0, 17, 1700, 100), chunking_start).has_value());
  EXPECT_EQ(r.pending_bytes(), 0u);
  // At the bounds: accepted.
  EXPECT_TRUE(r.add("a", make_chunk(id_of(3), 0, 16, 1600, 100), chunking_start).has_value());
  EXPECT_TRUE(r.add("a", make_chunk(id_of(4), 0, 2, 10'000, 5000), chunking_start).has_value());
  EXPECT_EQ(r.pending_bytes(), 11'600u);
}

TEST(Chunking, PerSenderBoundsDoNotTouchOtherSenders) {
  Reassembler::Config c;
  c.max_pending_messages_per_sender = 3;
  c.max_pending_bytes_per_sender = 10'000;
  c.max_pending_bytes_total = 100'000;
  Reassembler r(c);
  // The victim has a message in progress.
  const Bytes victim_msg = pattern(4000, 5);
  auto victim = chunks_of(victim_msg, 1000, id_of(200));
  ASSERT_TRUE(r.add("victim", victim[0], chunking_start).has_value());
  // A flood from one sender: only three messages are held for it.
  int accepted = 0;
  for (std::uint8_t i = 0; i < 50; ++i) {
    if (r.add("flooder", make_chunk(id_of(i), 0, 2, 2000, 1000), chunking_start).has_value()) ++accepted;
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(r.pending_bytes(), 4000u + 3 * 2000u);
  // Per-sender bytes: a message that would take the flooder over 10 000 bytes is refused.
  Reassembler r2(c);
  ASSERT_TRUE(r2.add("f", make_chunk(id_of(1), 0, 2, 6000, 3000), chunking_start).has_value());
  EXPECT_FALSE(r2.add("f", make_chunk(id_of(2), 0, 2, 5000, 2500), chunking_start).has_value());
  EXPECT_TRUE(r2.add("g", make_chunk(id_of(2), 0, 2, 5000, 2500), chunking_start).has_value());
  // The victim's message still completes.
  std::optional<Bytes> out;
  for (std::size_t i = 1; i < victim.size(); ++i) {
    auto res = r.add("victim", victim[i], chunking_start);
    ASSERT_TRUE(res.has_value());
    if (*res) out = std::move(*res);
  }
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, victim_msg);
  // The flooder's own messages in progress are kept too (refusing never evicts).
  EXPECT_EQ(r.pending_messages(), 3u);
}

TEST(Chunking, TotalAndSenderCountBoundsRefuseNewMessagesOnly) {
  Reassembler::Config c;
  c.max_pending_bytes_total = 10'000;
  c.max_senders = 3;
  Reassembler r(c);
  ASSERT_TRUE(r.add("s1", make_chunk(id_of(1), 0, 2, 4000, 2000), chunking_start).has_value());
  ASSERT_TRUE(r.add("s2", make_chunk(id_of(1), 0, 2, 4000, 2000), chunking_start).has_value());
  // Total: 8000 + 4000 > 10 000.
  auto over = r.add("s3", make_chunk(id_of(1), 0, 2, 4000, 2000), chunking_start);
  EXPECT_FALSE(over.has_value());
  // Its later chunks are ignored (no restart), not re-reported.
  auto rest = r.add("s3", make_chunk(id_of(1), 1, 2, 4000, 2000), chunking_start);
  ASSERT_TRUE(rest.has_value());
  EXPECT_FALSE(rest->has_value());
  EXPECT_LE(r.pending_bytes(), c.max_pending_bytes_total);
  ASSERT_TRUE(r.add("s3", make_chunk(id_of(2), 0, 2, 2000, 1000), chunking_start).has_value());
  // Senders: a fourth sender is refused, even for a small message.
  EXPECT_FALSE(r.add("s4", make_chunk(id_of(1), 0, 2, 10, 5), chunking_start).has_value());
  EXPECT_EQ(r.pending_senders(), 3u);
  EXPECT_EQ(r.pending_bytes(), 10'000u);
  // Earlier messages still complete.
  auto done = r.add("s1", make_chunk(id_of(1), 1, 2, 4000, 2000), chunking_start);
  ASSERT_TRUE(done.has_value() && done->has_value());
  EXPECT_EQ((*done)->size(), 4000u);
  EXPECT_EQ(r.pending_bytes(), 6000u);
  // Single-chunk messages hold nothing and pass even when bounds are reached.
  auto single = r.add("s9", make_chunk(id_of(7), 0, 1, 10, 10), chunking_start);
  ASSERT_TRUE(single.has_value() && single->has_value());
}

TEST(Chunking, SenderKeyTooLong) {
  Reassembler::Config c;
  c.max_sender_length = 8;
  Reassembler r(c);
  EXPECT_FALSE(r.add(std::string(9, 'x'), make_chunk(id_of(1), 0, 2, 10, 5), chunking_start).has_value());
  EXPECT_TRUE(r.add(std::string(8, 'x'), make_chunk(id_of(1), 0, 2, 10, 5), chunking_start).has_value());
}

TEST(Chunking, InterleavedMessagesFromSeveralSenders) {
  Reassembler r;
  std::mt19937 rng(3);
  struct Item {
    std::string sender;
    Bytes chunk;
  };
  std::vector<Item> all;
  std::vector<Bytes> messages;
  std::vector<std::string> senders;
  // Three senders, two messages each; the same id from two senders is two messages.
  for (int s = 0; s < 3; ++s) {
    for (int k = 0; k < 2; ++k) {
      const auto idx = static_cast<std::uint32_t>(s * 2 + k);
      messages.push_back(pattern(1500 + 700 * idx, idx + 10));
      senders.push_back("_INBOX.sender" + std::to_string(s));
      for (auto& c : chunks_of(messages.back(), 500, id_of(static_cast<std::uint8_t>(k)))) {
        all.push_back({senders.back(), std::move(c)});
      }
    }
  }
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<Bytes> got;
  for (auto& it : all) {
    auto res = r.add(it.sender, it.chunk, chunking_start);
    ASSERT_TRUE(res.has_value()) << res.error().message;
    if (*res) got.push_back(std::move(**res));
  }
  ASSERT_EQ(got.size(), messages.size());
  std::sort(got.begin(), got.end());
  std::sort(messages.begin(), messages.end());
  EXPECT_EQ(got, messages);
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(Chunking, ExpiryOrderAcrossMessages) {
  Reassembler r;
  ASSERT_TRUE(r.add("a", make_chunk(id_of(1), 0, 2, 10, 5), chunking_start).has_value());
  ASSERT_TRUE(r.add("b", make_chunk(id_of(1), 0, 2, 20, 10), chunking_start + 10s).has_value());
  EXPECT_EQ(r.next_expiry(), chunking_start + 30s);
  r.expire(chunking_start + 30s);
  EXPECT_EQ(r.pending_bytes(), 20u);
  EXPECT_EQ(r.next_expiry(), chunking_start + 40s);
  r.expire(chunking_start + 40s);
  EXPECT_EQ(r.pending_bytes(), 0u);
}

}  // namespace
}  // namespace stargate::nats::sealed
