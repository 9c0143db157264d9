// Session-level behaviour: pings, keep-alive, timeouts, GoAway, stream limits.
#include "harness.hpp"

namespace stargate::p2p::yamux::test {
namespace {

TEST(YamuxSession, StartsWithAnRttPing) {
  Session s(Role::client, Config{}, epoch());
  auto frames = frames_in(s.take_output());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].header.type, FrameType::ping);
  EXPECT_EQ(frames[0].header.flags, flag::syn);
  EXPECT_EQ(frames[0].header.stream_id, 0u);
}

TEST(YamuxSession, AnswersPingWithAckEchoingOpaque) {
  Raw r;
  r.feed(frame(FrameType::ping, flag::syn, 0, 0xdeadbeef));
  auto out = r.output_frames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header, (Header{FrameType::ping, flag::ack, 0, 0xdeadbeef}));
  // An ACK nobody asked for is ignored.
  r.feed(frame(FrameType::ping, flag::ack, 0, 12345));
  EXPECT_TRUE(r.side.rtts.empty());
  EXPECT_FALSE(r.side.failure);
}

TEST(YamuxSession, ExplicitPingReportsRtt) {
  Pair p;
  p.one_way = 5ms;
  p.pump();
  p.client.rtts.clear();
  p.client.s.ping(p.now);
  p.pump();
  ASSERT_EQ(p.client.rtts.size(), 1u);
  EXPECT_EQ(p.client.rtts[0], 10ms);
}

TEST(YamuxSession, KeepAlivePingsOnSchedule) {
  Config cfg;
  cfg.keepalive_interval = 1000ms;
  cfg.ping_timeout = 300ms;
  Pair p(cfg, cfg);
  p.pump();  // initial pings answered
  ASSERT_EQ(p.client.rtts.size(), 1u);
  ASSERT_EQ(p.client.s.next_timeout(), epoch() + 1000ms);
  p.now = epoch() + 999ms;
  p.client.s.on_timer(p.now);
  EXPECT_FALSE(p.client.s.has_output()) << "not due yet";
  for (int i = 1; i <= 3; ++i) {
    p.now = *p.client.s.next_timeout();
    p.client.s.on_timer(p.now);
    ASSERT_TRUE(p.client.s.has_output());
    EXPECT_EQ(p.client.s.next_timeout(), p.now + 300ms) << "now waiting for the answer";
    p.pump();
    EXPECT_EQ(p.client.rtts.size(), static_cast<std::size_t>(i + 1));
  }
  EXPECT_FALSE(p.client.failure);
}

TEST(YamuxSession, KeepAliveOffMeansNoTimerAfterFirstPing) {
  Config cfg;
  cfg.keepalive_interval = 0ms;
  Pair p(cfg, cfg);
  p.pump();
  EXPECT_FALSE(p.client.s.next_timeout());
  p.client.s.on_timer(p.now + 1h);
  EXPECT_FALSE(p.client.s.has_output());
}

TEST(YamuxSession, PingTimeoutFailsSession) {
  Config cfg;
  cfg.keepalive_interval = 1000ms;
  cfg.ping_timeout = 300ms;
  Raw r(Role::client, cfg);  // the peer never answers
  EXPECT_EQ(r.s().next_timeout(), r.now + 300ms) << "the initial ping is outstanding";
  r.s().on_timer(r.now + 299ms);
  EXPECT_FALSE(r.s().is_dead());
  r.s().on_timer(r.now + 300ms);
  r.side.drain(r.now);
  EXPECT_TRUE(r.failed_with(go_away_code::internal_error));
  EXPECT_FALSE(r.s().next_timeout());
  EXPECT_FALSE(r.s().open_stream());
}

TEST(YamuxSession, GoAwayStopsNewStreamsButNotOldOnes) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.server.s.go_away();
  p.pump();
  EXPECT_EQ(p.client.go_aways, (std::vector<std::uint32_t>{go_away_code::normal}));
  EXPECT_TRUE(p.client.s.remote_went_away());
  EXPECT_FALSE(p.client.s.open_stream());
  EXPECT_FALSE(p.server.s.open_stream()) << "the side going away opens nothing either";
  EXPECT_EQ(p.client.s.write(id, as_bytes("still here")), 10u);
  p.pump();
  EXPECT_EQ(as_string(p.server.received[id]), "still here");
  EXPECT_FALSE(p.client.failure);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxSession, StreamsOpenedAfterOurGoAwayAreReset) {
  Raw r;
  r.s().go_away(7);
  auto out = r.output_frames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header, (Header{FrameType::go_away, 0, 0, 7}));
  r.feed(frame(FrameType::window_update, flag::syn, 1, 0));
  out = r.output_frames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header, (Header{FrameType::window_update, flag::rst, 1, 0}));
  EXPECT_TRUE(r.side.opened.empty());
}

TEST(YamuxSession, InboundStreamLimitResetsExtraStreams) {
  Config cfg;
  cfg.max_streams = 2;
  Pair p(Config{}, cfg);
  const StreamId a = p.open(p.client);
  const StreamId b = p.open(p.client);
  const StreamId c = p.open(p.client);
  EXPECT_EQ(p.server.opened, (std::vector<StreamId>{a, b}));
  EXPECT_EQ(p.client.resets, (std::vector<StreamId>{c}));
  EXPECT_EQ(p.server.s.stream_count(), 2u);
  EXPECT_FALSE(p.server.failure) << "a refused stream is not a session failure";
  // A slot frees up when a stream closes.
  p.client.s.reset(a);
  p.pump();
  const StreamId d = p.open(p.client);
  EXPECT_EQ(p.server.opened.back(), d);
}

TEST(YamuxSession, DataOnRefusedStreamIsDropped) {
  Config cfg;
  cfg.max_streams = 1;
  Raw r(Role::server, cfg);
  r.feed(frame(FrameType::window_update, flag::syn, 1, 0));
  Bytes in = data_frame(3, pattern(100), flag::syn);
  append(in, data_frame(3, pattern(50)));
  r.feed(in);
  EXPECT_EQ(r.side.opened, (std::vector<StreamId>{1}));
  EXPECT_TRUE(r.side.received[3].empty());
  EXPECT_FALSE(r.side.failure);
}

TEST(YamuxSession, PendingAcceptLimit) {
  Config cfg;
  cfg.max_inbound_pending_accept = 2;
  Raw r(Role::server, cfg);
  // Feed without polling events: the app is not accepting.
  for (StreamId id : {1u, 3u, 5u}) r.s().receive(frame(FrameType::window_update, flag::syn, id, 0), r.now);
  auto out = r.output_frames();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].header, (Header{FrameType::window_update, flag::rst, 5, 0}));
  r.side.drain(r.now);
  EXPECT_EQ(r.side.opened, (std::vector<StreamId>{1, 3}));
  r.feed(frame(FrameType::window_update, flag::syn, 7, 0));
  EXPECT_EQ(r.side.opened.back(), 7u) << "polled events free the backlog";
}

TEST(YamuxSession, OutboundStreamLimit) {
  Config cfg;
  cfg.max_streams = 3;
  Raw r(Role::client, cfg);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(r.s().open_stream());
  EXPECT_FALSE(r.s().open_stream());
  r.s().reset(1);
  EXPECT_TRUE(r.s().open_stream());
}

TEST(YamuxSession, SynWithRstOpensNothing) {
  Raw r;
  r.feed(frame(FrameType::window_update, flag::syn | flag::rst, 1, 0));
  EXPECT_TRUE(r.side.opened.empty());
  EXPECT_EQ(r.s().stream_count(), 0u);
  EXPECT_FALSE(r.side.failure);
}

TEST(YamuxSession, OutOfOrderSynsAreAccepted) {
  // rust-yamux sends a stream's SYN with its first write, so IDs may arrive out of order.
  Raw r;
  for (StreamId id : {5u, 1u, 3u, 9u}) r.feed(frame(FrameType::window_update, flag::syn, id, 0));
  EXPECT_EQ(r.side.opened, (std::vector<StreamId>{5, 1, 3, 9}));
  EXPECT_FALSE(r.side.failure);
}

TEST(YamuxSession, TakeOutputIntoReusesBuffers) {
  Session s(Role::client, Config{}, epoch());
  Bytes buf;
  buf.reserve(4096);
  s.take_output(buf);
  EXPECT_EQ(buf.size(), kHeaderSize);
  EXPECT_FALSE(s.has_output());
  auto id = s.open_stream();
  ASSERT_TRUE(id);
  Bytes second;
  s.take_output(second);
  EXPECT_EQ(second.size(), kHeaderSize);
}

}  // namespace
}  // namespace stargate::p2p::yamux::test
