// Stream lifecycle between two Sessions wired back to back.
#include "harness.hpp"

namespace stargate::p2p::yamux::test {
namespace {

TEST(YamuxStreams, OpenAndAcceptUseRoleParity) {
  Pair p;
  const StreamId c1 = p.open(p.client);
  const StreamId c2 = p.open(p.client);
  const StreamId s1 = p.open(p.server);
  EXPECT_EQ(c1, 1u);
  EXPECT_EQ(c2, 3u);
  EXPECT_EQ(s1, 2u);
  EXPECT_EQ(p.server.opened, (std::vector<StreamId>{1, 3}));
  EXPECT_EQ(p.client.opened, (std::vector<StreamId>{2}));
  EXPECT_EQ(p.client.s.stream_count(), 3u);
  EXPECT_EQ(p.server.s.stream_count(), 3u);
  EXPECT_FALSE(p.client.failure);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxStreams, OpeningSendsSynAsWindowUpdateAndPeerAcks) {
  Raw r(Role::client);
  auto id = r.s().open_stream();
  ASSERT_TRUE(id);
  auto out = r.output_frames();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].header, (Header{FrameType::window_update, flag::syn, *id, 0}));

  Raw srv(Role::server);
  srv.feed(frame(FrameType::window_update, flag::syn, 1, 0));
  auto acks = srv.output_frames();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].header, (Header{FrameType::window_update, flag::ack, 1, 0}));
  EXPECT_EQ(srv.side.opened, (std::vector<StreamId>{1}));
}

TEST(YamuxStreams, DataBothWays) {
  Pair p;
  const StreamId id = p.open(p.client);
  EXPECT_EQ(p.client.s.write(id, as_bytes("ping?")), 5u);
  p.pump();
  EXPECT_EQ(as_string(p.server.received[id]), "ping?");
  EXPECT_EQ(p.server.s.write(id, as_bytes("pong!")), 5u);
  p.pump();
  EXPECT_EQ(as_string(p.client.received[id]), "pong!");
}

TEST(YamuxStreams, DataCanFollowSynBeforeAck) {
  Pair p;
  auto id = p.client.s.open_stream();
  ASSERT_TRUE(id);
  EXPECT_EQ(p.client.s.write(*id, as_bytes("early")), 5u);  // SYN and data in one flight
  p.pump();
  EXPECT_EQ(p.server.opened, (std::vector<StreamId>{*id}));
  EXPECT_EQ(as_string(p.server.received[*id]), "early");
}

TEST(YamuxStreams, ClientHalfClosesThenServerAnswersAndCloses) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.client.s.write(id, as_bytes("request"));
  p.client.s.close_write(id);
  p.pump();
  EXPECT_EQ(p.server.remote_closed, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.client.s.write(id, as_bytes("more")), 0u) << "no writes after our FIN";
  // The other direction is still open.
  EXPECT_EQ(p.server.s.write(id, as_bytes("response")), 8u);
  p.server.s.close_write(id);
  p.pump();
  EXPECT_EQ(as_string(p.client.received[id]), "response");
  EXPECT_EQ(p.client.remote_closed, (std::vector<StreamId>{id}));
  // Fully closed on both sides: forgotten.
  EXPECT_EQ(p.client.s.stream_count(), 0u);
  EXPECT_EQ(p.server.s.stream_count(), 0u);
  EXPECT_FALSE(p.client.failure);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxStreams, ServerHalfClosesFirst) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.server.s.write(id, as_bytes("banner"));
  p.server.s.close_write(id);
  p.pump();
  EXPECT_EQ(p.client.remote_closed, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.server.s.stream_count(), 1u);
  EXPECT_EQ(p.client.s.write(id, as_bytes("reply")), 5u);
  p.pump();
  EXPECT_EQ(as_string(p.server.received[id]), "reply");
  p.client.s.close_write(id);
  p.pump();
  EXPECT_EQ(p.server.remote_closed, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.client.s.stream_count(), 0u);
  EXPECT_EQ(p.server.s.stream_count(), 0u);
}

TEST(YamuxStreams, FinOnDataFrameAppliesAfterPayload) {
  Raw r;
  Bytes in = frame(FrameType::window_update, flag::syn, 1, 0);
  append(in, data_frame(1, as_bytes("last words"), flag::fin));
  r.feed(in);
  EXPECT_EQ(as_string(r.side.received[1]), "last words");
  EXPECT_EQ(r.side.remote_closed, (std::vector<StreamId>{1}));
}

TEST(YamuxStreams, ClientResets) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.client.s.reset(id);
  EXPECT_EQ(p.client.s.stream_count(), 0u);
  p.pump();
  EXPECT_EQ(p.server.resets, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.server.s.stream_count(), 0u);
  EXPECT_EQ(p.server.s.write(id, as_bytes("x")), 0u);
  EXPECT_FALSE(p.client.failure);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxStreams, ServerResetsAndLateDataIsDropped) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.server.s.reset(id);
  // The client writes before it hears of the RST: the server must drop that, not fail.
  EXPECT_EQ(p.client.s.write(id, as_bytes("in flight")), 9u);
  p.client.s.close_write(id);
  p.pump();
  EXPECT_EQ(p.client.resets, (std::vector<StreamId>{id}));
  EXPECT_TRUE(p.server.received[id].empty());
  EXPECT_EQ(p.client.s.stream_count(), 0u);
  EXPECT_EQ(p.server.s.stream_count(), 0u);
  EXPECT_FALSE(p.client.failure);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxStreams, HundredConcurrentStreams) {
  Pair p;
  std::vector<StreamId> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = p.client.s.open_stream();
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  // Interleave the writes so frames of different streams alternate on the wire.
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      Bytes b = pattern(100 + i, static_cast<std::uint32_t>(i * 3 + round));
      ASSERT_EQ(p.client.s.write(ids[i], b), b.size());
    }
  }
  for (StreamId id : ids) p.client.s.close_write(id);
  p.pump();
  ASSERT_EQ(p.server.opened.size(), 100u);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Bytes want;
    for (int round = 0; round < 3; ++round) append(want, pattern(100 + i, static_cast<std::uint32_t>(i * 3 + round)));
    EXPECT_EQ(p.server.received[ids[i]], want) << ids[i];
    p.server.s.write(ids[i], as_bytes("ok"));
    p.server.s.close_write(ids[i]);
  }
  p.pump();
  EXPECT_EQ(p.server.remote_closed.size(), 100u);
  EXPECT_EQ(p.client.remote_closed.size(), 100u);
  EXPECT_EQ(p.client.s.stream_count(), 0u);
  EXPECT_EQ(p.server.s.stream_count(), 0u);
}

TEST(YamuxStreams, ByteAtATimeParsing) {
  Pair p;
  p.chunk = 1;
  const StreamId id = p.open(p.client);
  const Bytes msg = pattern(5000);
  p.send_all(p.client, id, msg);
  p.client.s.close_write(id);
  p.server.s.write(id, as_bytes("reply"));
  p.server.s.close_write(id);
  p.client.s.ping(p.now);
  p.pump();
  EXPECT_EQ(p.server.received[id], msg);
  EXPECT_EQ(as_string(p.client.received[id]), "reply");
  EXPECT_EQ(p.client.remote_closed, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.server.remote_closed, (std::vector<StreamId>{id}));
  EXPECT_EQ(p.client.rtts.size(), 2u);  // the initial ping and ours
  EXPECT_FALSE(p.client.failure);
  EXPECT_FALSE(p.server.failure);
}

TEST(YamuxStreams, OddSizedChunksAcrossFrameBoundaries) {
  for (std::size_t chunk : {5u, 11u, 13u, 4097u}) {
    Pair p;
    p.chunk = chunk;
    const StreamId id = p.open(p.client);
    const Bytes msg = pattern(300000, static_cast<std::uint32_t>(chunk));
    p.send_all(p.client, id, msg);
    EXPECT_EQ(p.server.received[id], msg) << chunk;
  }
}

TEST(YamuxStreams, TenMegabytesArriveIntact) {
  Pair p;
  p.one_way = 1ms;
  const StreamId id = p.open(p.client);
  const Bytes msg = pattern(10 * 1024 * 1024, 7);
  const Bytes back = pattern(3 * 1024 * 1024, 8);
  // Both directions at once, in uneven pieces.
  std::size_t a = 0, b = 0;
  int stalls = 0;
  while (a < msg.size() || b < back.size()) {
    const std::size_t na = p.client.s.write(id, BytesView(msg).subspan(a, std::min<std::size_t>(msg.size() - a, 777777)));
    const std::size_t nb = p.server.s.write(id, BytesView(back).subspan(b, std::min<std::size_t>(back.size() - b, 100003)));
    a += na;
    b += nb;
    p.pump();
    stalls = (na + nb == 0) ? stalls + 1 : 0;
    ASSERT_LT(stalls, 3);
  }
  p.client.s.close_write(id);
  p.server.s.close_write(id);
  p.pump();
  EXPECT_EQ(p.server.received[id], msg);
  EXPECT_EQ(p.client.received[id], back);
  EXPECT_EQ(p.client.s.stream_count(), 0u);
  EXPECT_EQ(p.server.s.stream_count(), 0u);
}

TEST(YamuxStreams, CallsOnUnknownStreamsAreHarmless) {
  Pair p;
  p.client.s.take_output();
  EXPECT_EQ(p.client.s.write(99, as_bytes("x")), 0u);
  p.client.s.close_write(99);
  p.client.s.reset(99);
  p.client.s.consumed(99, 10, p.now);
  EXPECT_EQ(p.client.s.send_window(99), 0u);
  EXPECT_FALSE(p.client.s.has_output());
}

}  // namespace
}  // namespace stargate::p2p::yamux::test
