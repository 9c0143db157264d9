// A peer that stops reading must not make us buffer without bound (rust-yamux CVE-2024-32984).
#include "harness.hpp"

namespace stargate::p2p::yamux::test {
namespace {

TEST(YamuxOutputBound, WritesStopAtTheOutputBudget) {
  Config cfg;
  cfg.max_pending_output = 1024 * 1024;
  cfg.initial_window = 16 * 1024 * 1024;  // the peer's window is not what stops us
  Pair p(cfg, cfg);
  const StreamId id = p.open(p.client);
  ASSERT_GT(p.client.s.send_window(id), cfg.max_pending_output);
  const Bytes big = pattern(4 * 1024 * 1024);
  // The peer never reads: we never take_output().
  std::size_t taken = p.client.s.write(id, big);
  taken += p.client.s.write(id, BytesView(big).subspan(taken));
  EXPECT_LT(p.client.s.pending_output(), cfg.max_pending_output);
  EXPECT_GT(taken, cfg.max_pending_output / 2);
  EXPECT_LT(taken, big.size());
  EXPECT_FALSE(p.client.s.is_dead()) << "our own writes are throttled, not fatal";
  // Once the driver drains the output, the writer is told it may go on.
  p.pump();
  EXPECT_EQ(p.client.writable, (std::vector<StreamId>{id}));
  while (taken < big.size()) {
    const std::size_t n = p.client.s.write(id, BytesView(big).subspan(taken));
    ASSERT_GT(n, 0u);
    taken += n;
    p.pump();
  }
  EXPECT_EQ(p.server.received[id], big);
}

TEST(YamuxOutputBound, PingFloodFromPeerThatDoesNotReadFailsSession) {
  Config cfg;
  cfg.max_pending_output = 64 * 1024;
  Raw r(Role::server, cfg);
  Bytes flood;
  for (int i = 0; i < 20000; ++i) append(flood, frame(FrameType::ping, flag::syn, 0, static_cast<std::uint32_t>(i)));
  r.feed(flood);  // we never take the output: the peer is not reading
  EXPECT_TRUE(r.s().is_dead());
  ASSERT_TRUE(r.side.failure);
  EXPECT_LE(r.s().pending_output(), cfg.max_pending_output + 2 * kHeaderSize);
}

TEST(YamuxOutputBound, SynFloodFromPeerThatDoesNotReadFailsSession) {
  Config cfg;
  cfg.max_pending_output = 16 * 1024;
  Raw r(Role::server, cfg);
  Bytes flood;
  for (StreamId id = 1; id < 20000; id += 2) {
    append(flood, frame(FrameType::window_update, flag::syn, id, 0));
    append(flood, frame(FrameType::window_update, flag::rst, id, 0));
  }
  r.feed(flood);
  EXPECT_TRUE(r.s().is_dead());
  EXPECT_LE(r.s().pending_output(), cfg.max_pending_output + 2 * kHeaderSize);
}

TEST(YamuxOutputBound, PingsFromAReadingPeerAreFine) {
  Config cfg;
  cfg.max_pending_output = 64 * 1024;
  Raw r(Role::server, cfg);
  for (int i = 0; i < 20000; ++i) {
    r.feed(frame(FrameType::ping, flag::syn, 0, static_cast<std::uint32_t>(i)));
    if (i % 100 == 0) r.s().take_output();
  }
  EXPECT_FALSE(r.s().is_dead());
}

}  // namespace
}  // namespace stargate::p2p::yamux::test
