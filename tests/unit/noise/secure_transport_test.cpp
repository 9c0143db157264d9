#include "p2p/noise/secure_transport.hpp"

#include "base/endian.hpp"
#include "crypto/random.hpp"

#include <gtest/gtest.h>

#include <random>

namespace stargate::p2p::noise {
namespace {

CipherState::Key key_of(std::uint8_t fill) {
  CipherState::Key k{};
  k.fill(fill);
  return k;
}

// Two ends of one channel: a's send key is b's receive key and vice versa.
struct Ends {
  SecureTransport a{CipherState(key_of(1)), CipherState(key_of(2))};
  SecureTransport b{CipherState(key_of(2)), CipherState(key_of(1))};
};

std::size_t be16(const Bytes& b, std::size_t at) { return load_be16(b.data() + at); }

TEST(SecureTransport, SmallRoundTrip) {
  Ends e;
  Bytes wire;
  e.a.encrypt(as_bytes("hello"), wire);
  ASSERT_EQ(wire.size(), 2u + 5u + 16u);
  EXPECT_EQ(be16(wire, 0), 21u);
  Bytes out;
  ASSERT_TRUE(e.b.decrypt(wire, out));
  EXPECT_EQ(out, to_bytes("hello"));
  EXPECT_EQ(e.b.buffered(), 0u);
}

TEST(SecureTransport, EmptyPlaintextWritesNothing) {
  Ends e;
  Bytes wire;
  e.a.encrypt({}, wire);
  EXPECT_TRUE(wire.empty());
  EXPECT_EQ(e.a.send_nonce(), 0u);
}

TEST(SecureTransport, FramesNeverExceed65535AndNoncesCount) {
  Ends e;
  Bytes pt(3 * max_frame_plaintext + 10);
  crypto::random_bytes(pt);
  Bytes wire = {0xAA};  // encrypt appends
  e.a.encrypt(pt, wire);
  EXPECT_EQ(wire.size(), 1 + SecureTransport::encrypted_size(pt.size()));
  EXPECT_EQ(e.a.send_nonce(), 4u);
  std::size_t pos = 1, frames = 0;
  while (pos < wire.size()) {
    const std::size_t len = be16(wire, pos);
    EXPECT_LE(len, 65535u);
    EXPECT_GE(len, tag_size);
    pos += 2 + len;
    ++frames;
  }
  EXPECT_EQ(pos, wire.size());
  EXPECT_EQ(frames, 4u);
  EXPECT_EQ(be16(wire, 1), 65535u);

  Bytes out;
  ASSERT_TRUE(e.b.decrypt(BytesView(wire).subspan(1), out));
  EXPECT_EQ(out, pt);
  EXPECT_EQ(e.b.recv_nonce(), 4u);
}

TEST(SecureTransport, TenMegabytesAcrossFrameBoundariesInRandomChunks) {
  Ends e;
  std::mt19937_64 rng(12345);
  Bytes pt(10 * 1024 * 1024);
  crypto::random_bytes(pt);

  // Writes of assorted sizes, some crossing the 65519-byte frame limit.
  Bytes wire;
  std::size_t pos = 0;
  while (pos < pt.size()) {
    std::size_t n = std::min<std::size_t>(pt.size() - pos, 1 + rng() % 200000);
    e.a.encrypt(BytesView(pt).subspan(pos, n), wire);
    pos += n;
  }
  // Reads of assorted sizes, splitting headers and frames anywhere.
  Bytes out;
  out.reserve(pt.size());
  pos = 0;
  while (pos < wire.size()) {
    std::size_t n = std::min<std::size_t>(wire.size() - pos, 1 + rng() % 100000);
    if (rng() % 8 == 0) n = std::min<std::size_t>(wire.size() - pos, 1);  // single bytes too
    auto r = e.b.decrypt(BytesView(wire).subspan(pos, n), out);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_LE(e.b.buffered(), 2u + 65535u);
    pos += n;
  }
  EXPECT_EQ(e.b.buffered(), 0u);
  EXPECT_EQ(out.size(), pt.size());
  EXPECT_TRUE(out == pt);
}

TEST(SecureTransport, ByteAtATime) {
  Ends e;
  Bytes wire;
  e.a.encrypt(as_bytes("first"), wire);
  e.a.encrypt(as_bytes("second"), wire);
  Bytes out;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    ASSERT_TRUE(e.b.decrypt(BytesView(wire).subspan(i, 1), out));
    if (i + 1 < wire.size()) {
      EXPECT_EQ(e.b.bytes_to_complete_frame() > 0, e.b.buffered() > 0);
    }
  }
  EXPECT_EQ(out, to_bytes("firstsecond"));
}

TEST(SecureTransport, BothDirections) {
  Ends e;
  Bytes w1, w2, o1, o2;
  e.a.encrypt(as_bytes("ping"), w1);
  e.b.encrypt(as_bytes("pong"), w2);
  ASSERT_TRUE(e.b.decrypt(w1, o1));
  ASSERT_TRUE(e.a.decrypt(w2, o2));
  EXPECT_EQ(o1, to_bytes("ping"));
  EXPECT_EQ(o2, to_bytes("pong"));
}

TEST(SecureTransport, TamperedFrameKillsTheChannel) {
  Ends e;
  Bytes wire;
  e.a.encrypt(as_bytes("good"), wire);
  const std::size_t first = wire.size();
  e.a.encrypt(as_bytes("evil"), wire);
  e.a.encrypt(as_bytes("after"), wire);
  wire[first + 3] ^= 0x01;  // inside the second frame's ciphertext
  Bytes out;
  auto r = e.b.decrypt(wire, out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("authentication"), std::string::npos);
  EXPECT_EQ(out, to_bytes("good"));  // only the frame before the bad one
  EXPECT_TRUE(e.b.failed());
  Bytes more;
  e.a.encrypt(as_bytes("x"), more);
  EXPECT_FALSE(e.b.decrypt(more, out));
}

TEST(SecureTransport, TamperedLengthFails) {
  Ends e;
  Bytes wire;
  e.a.encrypt(as_bytes("0123456789"), wire);
  wire[1] -= 1;  // claims one byte less: the tag no longer lines up
  Bytes out;
  EXPECT_FALSE(e.b.decrypt(wire, out));
  EXPECT_TRUE(out.empty());
}

TEST(SecureTransport, ReorderedOrReplayedFramesFail) {
  Ends e;
  Bytes f1, f2, out;
  e.a.encrypt(as_bytes("one"), f1);
  e.a.encrypt(as_bytes("two"), f2);
  EXPECT_FALSE(e.b.decrypt(f2, out));

  Ends e2;
  Bytes g1;
  e2.a.encrypt(as_bytes("one"), g1);
  ASSERT_TRUE(e2.b.decrypt(g1, out));
  EXPECT_FALSE(e2.b.decrypt(g1, out));  // replay
}

TEST(SecureTransport, FrameShorterThanTagFails) {
  for (std::size_t len : {0u, 1u, 15u}) {
    Ends e;
    Bytes wire = {0, static_cast<std::uint8_t>(len)};
    wire.resize(2 + len, 0x55);
    Bytes out;
    EXPECT_FALSE(e.b.decrypt(wire, out)) << len;
    EXPECT_TRUE(e.b.failed());
  }
}

TEST(SecureTransport, PartialFrameIsBufferedNotDecrypted) {
  Ends e;
  Bytes wire;
  e.a.encrypt(Bytes(1000, 7), wire);
  Bytes out;
  ASSERT_TRUE(e.b.decrypt(BytesView(wire).first(500), out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(e.b.buffered(), 500u);
  EXPECT_EQ(e.b.bytes_to_complete_frame(), wire.size() - 500);
  ASSERT_TRUE(e.b.decrypt(BytesView(wire).subspan(500), out));
  EXPECT_EQ(out, Bytes(1000, 7));
  EXPECT_EQ(e.b.buffered(), 0u);
}

TEST(SecureTransport, WrongKeyFails) {
  SecureTransport a{CipherState(key_of(1)), CipherState(key_of(2))};
  SecureTransport c{CipherState(key_of(2)), CipherState(key_of(3))};
  Bytes wire, out;
  a.encrypt(as_bytes("secret"), wire);
  EXPECT_FALSE(c.decrypt(wire, out));
}

TEST(SecureTransport, NonceExhaustionThrows) {
  CipherState send(key_of(1));
  send.set_nonce(crypto::noise::max_nonce - 1);
  SecureTransport a{std::move(send), CipherState(key_of(2))};
  Bytes wire;
  a.encrypt(as_bytes("last one"), wire);
  EXPECT_THROW(a.encrypt(as_bytes("too many"), wire), ErrorException);
}

}  // namespace
}  // namespace stargate::p2p::noise
