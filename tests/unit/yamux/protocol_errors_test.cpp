// Every protocol violation ends the session with GoAway(protocol error) and SessionFailed; the
// frames the spec allows to arrive late are dropped quietly instead.
#include "harness.hpp"

namespace stargate::p2p::yamux::test {
namespace {

Bytes syn(StreamId id) { return frame(FrameType::window_update, flag::syn, id, 0); }

TEST(YamuxProtocolErrors, BadVersion) {
  Raw r;
  Bytes f = frame(FrameType::ping, flag::syn, 0, 1);
  f[0] = 1;
  r.feed(f);
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, UnknownType) {
  Raw r;
  Bytes f = frame(FrameType::ping, flag::syn, 0, 1);
  f[1] = 9;
  r.feed(f);
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, DataOnUnknownStream) {
  Raw r;
  r.feed(data_frame(1, as_bytes("who?")));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, WindowUpdateOnNeverOpenedStream) {
  Raw r(Role::client);
  r.feed(frame(FrameType::window_update, 0, 5, 100));  // our parity, never opened by us
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, StreamFrameOnStreamZero) {
  Raw r;
  r.feed(data_frame(0, as_bytes("x")));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, DataAfterFinOnOpenStream) {
  Raw r;
  r.feed(syn(1));
  r.feed(frame(FrameType::window_update, flag::fin, 1, 0));
  EXPECT_FALSE(r.side.failure);
  r.feed(data_frame(1, as_bytes("too late")));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, DataOnClosedStream) {
  Raw r;
  r.feed(syn(1));
  r.s().close_write(1);
  r.feed(frame(FrameType::window_update, flag::fin, 1, 0));
  ASSERT_EQ(r.s().stream_count(), 0u) << "fully closed, so forgotten";
  // Late window updates and empty frames for it are fine...
  r.feed(frame(FrameType::window_update, 0, 1, 1000));
  r.feed(data_frame(1, {}));
  EXPECT_FALSE(r.side.failure);
  // ...data is not.
  r.feed(data_frame(1, as_bytes("zombie")));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, DataAfterRemoteResetIsAnError) {
  Raw r;
  r.feed(syn(1));
  r.feed(frame(FrameType::window_update, flag::rst, 1, 0));
  EXPECT_EQ(r.side.resets, (std::vector<StreamId>{1}));
  r.feed(data_frame(1, as_bytes("after rst")));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, LateFramesAfterLocalResetAreIgnored) {
  Raw r;
  r.feed(syn(1));
  r.s().reset(1);
  Bytes in = data_frame(1, pattern(1000));
  append(in, frame(FrameType::window_update, 0, 1, 5));
  append(in, frame(FrameType::window_update, flag::fin, 1, 0));
  append(in, data_frame(1, pattern(10), flag::fin));
  r.feed(in);
  EXPECT_FALSE(r.side.failure);
  EXPECT_TRUE(r.side.received[1].empty());
}

TEST(YamuxProtocolErrors, ResetMidPayloadDropsTheRest) {
  Raw r;
  r.feed(syn(1));
  const Bytes f = data_frame(1, pattern(100));
  r.feed(BytesView(f).first(50));  // header + 38 bytes of payload
  r.s().reset(1);
  r.feed(BytesView(f).subspan(50));
  r.feed(data_frame(1, as_bytes("more")));
  EXPECT_EQ(r.side.received[1].size(), 38u);
  EXPECT_FALSE(r.side.failure);
}

TEST(YamuxProtocolErrors, SynForExistingStream) {
  Raw r;
  r.feed(syn(1));
  r.feed(syn(1));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, SynReusingClosedStreamId) {
  Raw r;
  r.feed(syn(1));
  r.feed(frame(FrameType::window_update, flag::rst, 1, 0));
  ASSERT_EQ(r.s().stream_count(), 0u);
  r.feed(syn(1));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, SynWithOurParity) {
  Raw r(Role::server);
  r.feed(syn(2));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
  Raw c(Role::client);
  c.feed(syn(1));
  EXPECT_TRUE(c.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, SynFarBehindTheIdWindowCountsAsReused) {
  Raw r;
  r.feed(syn(3));                                       // 1 is skipped...
  r.feed(syn(3 + 2 * 2 * IdTracker::kSpan));            // ...and falls out of the window
  EXPECT_FALSE(r.side.failure);
  r.feed(syn(1));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, DataBeyondReceiveWindow) {
  Raw r;
  r.side.auto_consume = false;
  r.feed(syn(1));
  r.feed(data_frame(1, pattern(kDefaultWindow - 10)));
  EXPECT_FALSE(r.side.failure);
  r.feed(data_frame(1, pattern(11)));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
  EXPECT_EQ(r.side.received[1].size(), kDefaultWindow - 10) << "nothing of the bad frame delivered";
}

TEST(YamuxProtocolErrors, SynDataLargerThanInitialWindowCreatesNothing) {
  // rust-yamux CVE-2026-32314: the length is checked before any stream exists.
  Raw r;
  Bytes f;
  append_header(f, Header{FrameType::data, flag::syn, 1, kDefaultWindow + 1});
  r.feed(f);  // the header alone is enough
  EXPECT_TRUE(r.side.opened.empty());
  EXPECT_EQ(r.s().stream_count(), 0u);
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, SynDataOfExactlyTheInitialWindowIsFine) {
  Raw r;
  r.feed(data_frame(1, pattern(kDefaultWindow), flag::syn));
  EXPECT_FALSE(r.side.failure);
  EXPECT_EQ(r.side.received[1].size(), kDefaultWindow);
}

TEST(YamuxProtocolErrors, DataFrameOverMaxFrameData) {
  Config cfg;
  cfg.initial_window = 1024 * 1024;
  cfg.max_frame_data = 512 * 1024;
  Raw r(Role::server, cfg);
  r.feed(syn(1));
  Bytes f;
  append_header(f, Header{FrameType::data, 0, 1, 512 * 1024 + 1});
  r.feed(f);
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, SendWindowOverflow) {
  Raw r;
  r.feed(syn(1));
  r.feed(frame(FrameType::window_update, 0, 1, 0xffffffffu));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, FailureClearsStreamsAndIgnoresLaterInput) {
  Raw r;
  r.feed(syn(1));
  r.feed(syn(3));
  r.feed(syn(2));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
  EXPECT_EQ(r.s().stream_count(), 0u);
  r.feed(frame(FrameType::ping, flag::syn, 0, 1));
  EXPECT_FALSE(r.s().has_output());
  EXPECT_EQ(r.s().write(1, as_bytes("x")), 0u);
  EXPECT_FALSE(r.s().open_stream());
}

TEST(YamuxProtocolErrors, FailureAfterOwnGoAwayStillSaysWhy) {
  Raw r;
  r.s().go_away();
  r.feed(data_frame(1, as_bytes("x")));
  EXPECT_TRUE(r.failed_with(go_away_code::protocol_error));
}

TEST(YamuxProtocolErrors, PeerSeesOurFailureAsGoAway) {
  Pair p;
  const StreamId id = p.open(p.client);
  p.server.s.receive(data_frame(id + 100, as_bytes("bogus")), p.now);
  p.pump();
  EXPECT_TRUE(p.server.failure);
  EXPECT_EQ(p.client.go_aways, (std::vector<std::uint32_t>{go_away_code::protocol_error}));
}

}  // namespace
}  // namespace stargate::p2p::yamux::test
