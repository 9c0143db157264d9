// Send windows, window updates, StreamWritable and receive-window auto-tuning.
#include "harness.hpp"

namespace stargate::p2p::yamux::test {
namespace {

TEST(YamuxFlowControl, WriterBlocksAtWindowAndResumesAfterConsumed) {
  Pair p;
  p.server.auto_consume = false;
  const StreamId id = p.open(p.client);
  const Bytes big = pattern(kDefaultWindow + 1000);
  EXPECT_EQ(p.client.s.write(id, big), kDefaultWindow) << "limited by the peer's window";
  EXPECT_EQ(p.client.s.send_window(id), 0u);
  EXPECT_EQ(p.client.s.write(id, BytesView(big).subspan(kDefaultWindow)), 0u);
  p.pump();
  EXPECT_EQ(p.server.received[id].size(), kDefaultWindow);
  EXPECT_TRUE(p.client.writable.empty()) << "nothing consumed yet, so no credit";

  // Consuming less than half a window is not worth an update.
  p.server.s.consumed(id, kDefaultWindow / 2 - 1, p.now);
  EXPECT_FALSE(p.server.s.has_output());
  p.server.s.consumed(id, 1, p.now);
  ASSERT_TRUE(p.server.s.has_output());
  p.pump();
  EXPECT_EQ(p.client.writable, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.client.s.send_window(id), kDefaultWindow / 2);
  EXPECT_EQ(p.client.s.write(id, BytesView(big).subspan(kDefaultWindow)), 1000u);
  p.pump();
  EXPECT_EQ(p.server.received[id], big);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxFlowControl, StreamWritableFiresOnlyAfterAShortWrite) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.client.s.write(id, pattern(1000));
  p.pump();  // the server consumes, but 1000 bytes are below the update threshold
  EXPECT_TRUE(p.client.writable.empty());
}

TEST(YamuxFlowControl, AdvertisesLargerInitialWindowInSynAndAck) {
  Config big;
  big.initial_window = 1024 * 1024;
  Pair p(big, big);
  const StreamId c = p.open(p.client);
  const StreamId s = p.open(p.server);
  EXPECT_EQ(p.client.s.send_window(c), big.initial_window) << "from the ACK's window delta";
  EXPECT_EQ(p.server.s.send_window(c), big.initial_window) << "from the SYN's window delta";
  EXPECT_EQ(p.client.s.send_window(s), big.initial_window);
  EXPECT_EQ(p.server.s.receive_window(c), big.initial_window);
  const Bytes msg = pattern(big.initial_window);
  EXPECT_EQ(p.client.s.write(c, msg), msg.size()) << "a whole 1 MiB window without waiting";
  p.pump();
  EXPECT_EQ(p.server.received[c], msg);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxFlowControl, PeerMayUseDefaultWindowBeforeOurAckArrives) {
  // Our initial window is larger, but the peer only knows the default until the ACK: fine.
  Config big;
  big.initial_window = 1024 * 1024;
  Raw r(Role::server, big);
  Bytes in = frame(FrameType::window_update, flag::syn, 1, 0);
  append(in, data_frame(1, pattern(kDefaultWindow)));
  r.feed(in);
  EXPECT_FALSE(r.side.failure);
  EXPECT_EQ(r.side.received[1].size(), kDefaultWindow);
}

TEST(YamuxFlowControl, WindowGrowsUnderFastConsumption) {
  Config cfg;
  cfg.max_window = 4 * 1024 * 1024;
  Pair p(cfg, cfg);
  p.one_way = 10ms;
  p.pump();  // the initial pings measure the RTT
  ASSERT_TRUE(p.server.s.rtt());
  EXPECT_GE(*p.server.s.rtt(), 20ms);
  const StreamId id = p.open(p.client);
  const Bytes msg = pattern(16 * 1024 * 1024, 3);
  std::uint32_t last = kDefaultWindow;
  for (std::size_t off = 0; off < msg.size();) {
    off += p.client.s.write(id, BytesView(msg).subspan(off));
    p.pump();
    const std::uint32_t w = p.server.s.receive_window(id);
    EXPECT_GE(w, last) << "never shrinks";
    last = w;
  }
  EXPECT_EQ(p.server.received[id], msg);
  EXPECT_EQ(p.server.s.receive_window(id), cfg.max_window) << "doubled up to the cap";
  EXPECT_GT(p.client.s.send_window(id), kDefaultWindow);
}

TEST(YamuxFlowControl, NoGrowthWhenTheAppConsumesSlowly) {
  Pair p;
  p.one_way = 10ms;
  p.pump();
  p.server.auto_consume = false;
  const StreamId id = p.open(p.client);
  for (int i = 0; i < 10; ++i) {
    p.client.s.write(id, pattern(kDefaultWindow));
    p.pump();
    p.now += 1s;  // the app is the bottleneck, not the window
    p.server.s.consumed(id, p.server.received[id].size(), p.now);
    p.server.received[id].clear();
    p.pump();
  }
  EXPECT_EQ(p.server.s.receive_window(id), kDefaultWindow);
}

TEST(YamuxFlowControl, NoGrowthWithoutRttMeasurement) {
  Raw r;
  r.feed(frame(FrameType::window_update, flag::syn, 1, 0));
  for (int i = 0; i < 8; ++i) {
    r.feed(data_frame(1, pattern(kDefaultWindow / 2)));
    r.s().consumed(1, kDefaultWindow / 2, r.now);
  }
  EXPECT_EQ(r.s().receive_window(1), kDefaultWindow);
}

TEST(YamuxFlowControl, GrowthIsBoundedBySessionBudget) {
  Config cfg;
  cfg.max_window = 4 * 1024 * 1024;
  cfg.max_connection_window_growth = 1024 * 1024;
  Pair p(cfg, cfg);
  p.one_way = 10ms;
  p.pump();
  const StreamId a = p.open(p.client);
  const StreamId b = p.open(p.client);
  const Bytes chunk = pattern(4 * 1024 * 1024);
  for (int i = 0; i < 40; ++i) {
    p.client.s.write(a, chunk);
    p.client.s.write(b, chunk);
    p.pump();
  }
  const std::uint64_t growth = (p.server.s.receive_window(a) - kDefaultWindow) +
                               (p.server.s.receive_window(b) - kDefaultWindow);
  EXPECT_GT(growth, 0u);
  EXPECT_LE(growth, cfg.max_connection_window_growth);
}

TEST(YamuxFlowControl, ConsumedAfterRemoteFinSendsNoUpdate) {
  Raw r;
  Bytes in = frame(FrameType::window_update, flag::syn, 1, 0);
  append(in, data_frame(1, pattern(kDefaultWindow), flag::fin));
  r.side.auto_consume = false;
  r.feed(in);
  r.output_frames();  // the ACK
  r.s().consumed(1, kDefaultWindow, r.now);
  EXPECT_TRUE(r.output_frames().empty());
}


// The node's share of memory, as the resource manager would give it.
struct FixedBudget : MemoryBudget {
  std::size_t limit = 0, taken = 0;
  std::size_t room() const override { return limit - taken; }
  void take(std::size_t n) override { taken += n; }
  void give_back(std::size_t n) override { taken -= n; }
};

TEST(YamuxFlowControl, GrowthTakesMemoryFromTheNodesBudgetAndGivesItBack) {
  Config cfg;
  cfg.max_window = 4 * 1024 * 1024;
  Pair p(cfg, cfg);
  FixedBudget budget;
  budget.limit = 512 * 1024;
  p.server.s.set_memory_budget(&budget);
  p.one_way = 10ms;
  p.pump();
  const StreamId a = p.open(p.client);
  const Bytes chunk = pattern(4 * 1024 * 1024);
  for (int i = 0; i < 40; ++i) {
    p.client.s.write(a, chunk);
    p.pump();
  }
  const std::uint64_t growth = p.server.s.receive_window(a) - kDefaultWindow;
  // Without the budget this stream would grow to max_window (GrowthIsBoundedBySessionBudget).
  EXPECT_GT(growth, 0u);
  EXPECT_LE(growth, budget.limit);
  EXPECT_EQ(budget.taken, growth);
  // A stream that goes gives its growth back.
  p.client.s.reset(a);
  p.pump();
  EXPECT_EQ(budget.taken, 0u);
}

}  // namespace
}  // namespace stargate::p2p::yamux::test
