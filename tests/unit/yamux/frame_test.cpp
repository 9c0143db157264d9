#include "p2p/yamux/frame.hpp"

#include <gtest/gtest.h>

namespace stargate::p2p::yamux {
namespace {

TEST(YamuxFrame, HeaderIsBigEndianTwelveBytes) {
  Bytes out;
  append_header(out, Header{FrameType::window_update, flag::syn | flag::ack, 0x01020304, 0xa0b0c0d0});
  EXPECT_EQ(to_hex(out), "00010003" "01020304" "a0b0c0d0");
}

TEST(YamuxFrame, RoundTripsEveryType) {
  for (auto t : {FrameType::data, FrameType::window_update, FrameType::ping, FrameType::go_away}) {
    Bytes body = t == FrameType::data ? to_bytes("hello") : Bytes{};
    Header h{t, flag::fin | flag::rst, 7, t == FrameType::data ? 5u : 123456u};
    Bytes wire;
    append_frame(wire, h, body);
    auto f = decode_frame(wire, 1024);
    ASSERT_TRUE(f.has_value());
    ASSERT_TRUE(f->has_value());
    EXPECT_EQ((*f)->header, h);
    EXPECT_EQ((*f)->size, wire.size());
    EXPECT_EQ(Bytes((*f)->body.begin(), (*f)->body.end()), body);
  }
}

TEST(YamuxFrame, LengthOfNonDataFramesIsNotABody) {
  // A window update of 1 MiB must not make the decoder wait for 1 MiB of payload.
  Bytes wire;
  append_header(wire, Header{FrameType::window_update, 0, 1, 1 << 20});
  auto f = decode_frame(wire, 16);
  ASSERT_TRUE(f.has_value() && f->has_value());
  EXPECT_EQ((*f)->size, kHeaderSize);
}

TEST(YamuxFrame, IncompleteInputNeedsMore) {
  Bytes wire;
  append_frame(wire, Header{FrameType::data, 0, 1, 4}, to_bytes("abcd"));
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto f = decode_frame(BytesView(wire).first(n), 1024);
    ASSERT_TRUE(f.has_value());
    EXPECT_FALSE(f->has_value()) << n;
  }
}

TEST(YamuxFrame, RejectsBadVersionUnknownTypeAndHugeData) {
  Bytes wire;
  append_header(wire, Header{FrameType::ping, flag::syn, 0, 1});
  wire[0] = 1;
  EXPECT_FALSE(decode_header(wire).has_value());
  EXPECT_FALSE(decode_frame(wire, 1024).has_value());
  wire[0] = 0;
  wire[1] = 4;
  EXPECT_FALSE(decode_header(wire).has_value());
  wire.clear();
  append_header(wire, Header{FrameType::data, 0, 1, 1025});
  EXPECT_FALSE(decode_frame(wire, 1024).has_value());
}

}  // namespace
}  // namespace stargate::p2p::yamux
