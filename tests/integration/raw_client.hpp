#pragma once
// A hand-made libp2p client for hostile-peer tests: multistream-select, a real Noise XX handshake
// (the sans-IO Libp2pNoiseHandshake / HandshakeState + SecureTransport, not the host's own I/O
// layer) and raw Yamux frames, so that a test can break any rule at any step, or simply stop.
#include "base/deadline_io.hpp"
#include "base/endian.hpp"
#include "crypto/noise/handshake_state.hpp"
#include "p2p/host/host.hpp"
#include "p2p/host/noise_io.hpp"
#include "p2p/multistream/multistream.hpp"
#include "p2p/noise/libp2p_handshake.hpp"
#include "p2p/protocols/ping/ping_io.hpp"
#include "p2p/tcp/tcp_address.hpp"
#include "p2p/tcp/tcp_stream.hpp"
#include "p2p/yamux/frame.hpp"
#include "host_test_support.hpp"

#include <optional>
#include <string>

namespace stargate::p2p {

// An honest peer still gets through: new connection, ping round trip.
inline awaitable<void> expect_ping_works(Host& from, const Multiaddr& to) {
  auto connection = co_await from.connect(to);
  std::vector<std::string> protocols{ping::protocol_id};
  auto stream = co_await from.open_stream(connection, protocols);
  auto rtt = co_await ping::round_trip(*stream);
  EXPECT_GT(rtt.count(), 0);
  connection->close();
}

inline Bytes yamux_header(yamux::FrameType type, std::uint16_t flags, yamux::StreamId id, std::uint32_t length) {
  Bytes out;
  yamux::append_header(out, yamux::Header{type, flags, id, length});
  return out;
}

inline Bytes noise_framed(BytesView message) {
  Bytes out;
  append_be16(out, static_cast<std::uint16_t>(message.size()));
  append(out, message);
  return out;
}

// How the node ended a connection, as the client saw it.
struct Ending {
  bool closed = false;                     // end of stream or reset before the deadline
  std::optional<std::uint32_t> go_away;    // code of the GoAway received before the end, if any
  std::string error;                       // a frame the client could not parse
};

// The hand-made client. Every step is bounded by the test's overall deadline; the final wait for
// the node to hang up has its own.
class RawClient {
 public:
  explicit RawClient(tcp::socket socket) : tcp_(std::make_unique<TcpStream>(std::move(socket))) {}

  asio::any_io_executor executor() { return tcp_->socket().get_executor(); }
  void abort() { tcp_->reset(); }

  // multistream-select in the clear (before Noise).
  awaitable<void> select_plain(std::string protocol) {
    std::vector<std::string> protocols{std::move(protocol)};
    multistream::Initiator initiator(std::move(protocols));
    Bytes buffer(1024);
    for (;;) {
      Bytes out = initiator.take_output();
      if (!out.empty()) co_await tcp_->write_all(out);
      if (initiator.done()) break;
      auto n = co_await tcp_->read_some(buffer);
      if (n == 0) throw ErrorException("client: node closed during multistream-select");
      BytesView input(buffer.data(), n);
      while (!input.empty() && !initiator.done()) {
        auto consumed = initiator.receive(input);
        if (!consumed) throw ErrorException("client: " + consumed.error().message);
        input = input.subspan(*consumed);
        if (*consumed == 0) break;
      }
      if (!input.empty()) tcp_->unread(input);
    }
  }

  // The honest libp2p Noise handshake, as initiator.
  awaitable<void> secure(const noise::StaticNoiseKey& key, const crypto::PeerId& expected) {
    std::vector<std::string> muxers{yamux_protocol_id};
    noise::Libp2pNoiseHandshake hs(noise::Role::initiator, key, muxers, expected);
    Bytes first = hs.take_output();
    co_await tcp_->write_all(first);
    Bytes buffer(4096);
    while (!hs.done()) {
      auto n = co_await tcp_->read_some(buffer);
      if (n == 0) throw ErrorException("client: node closed during the Noise handshake");
      auto r = hs.receive(BytesView(buffer.data(), n));
      if (!r) throw ErrorException("client: " + r.error().message);
      if (hs.has_output()) {
        Bytes out = hs.take_output();
        co_await tcp_->write_all(out);
      }
    }
    if (hs.has_output()) {
      Bytes out = hs.take_output();
      co_await tcp_->write_all(out);
    }
    auto session = hs.take_transport();
    transport_.emplace(std::move(session.transport));
    if (!session.leftover.empty()) {
      auto r = transport_->decrypt(session.leftover, plain_);
      if (!r) throw ErrorException("client: " + r.error().message);
    }
  }

  // A Noise XX handshake driven by hand, so that message 3 can carry any payload: with
  // `static_key` as our Noise static key, `payload` as our NoiseHandshakePayload.
  awaitable<void> secure_with_payload(const crypto::X25519PrivateKey& static_key, BytesView payload) {
    auto hs = crypto::noise::HandshakeState::create(crypto::noise::patterns::XX(), crypto::noise::Role::initiator,
                                                    BytesView{}, static_key)
                  .value();
    Bytes m1 = noise_framed(hs.write_message(BytesView{}).value());
    co_await tcp_->write_all(m1);
    std::uint8_t length[2];
    co_await tcp_->read_exact(MutableBytesView(length, 2));
    Bytes m2(load_be16(length));
    co_await tcp_->read_exact(m2);
    auto responder_payload = hs.read_message(m2);
    if (!responder_payload) throw ErrorException("client: " + responder_payload.error().message);
    Bytes m3 = noise_framed(hs.write_message(payload).value());
    co_await tcp_->write_all(m3);
    auto [send, recv] = hs.split();
    transport_.emplace(std::move(send), std::move(recv));
  }

  awaitable<void> send(BytesView plaintext) {
    Bytes wire;
    transport_->encrypt(plaintext, wire);
    co_await tcp_->write_all(wire);
  }

  // Reads until more plaintext is available; false at end of stream, reset or read error.
  awaitable<bool> receive_more() {
    Bytes buffer(64 * 1024);
    for (;;) {
      std::size_t n = 0;
      bool failed = false;
      try {
        n = co_await tcp_->read_some(buffer);
      } catch (const std::exception&) {
        failed = true;
      }
      if (failed || n == 0) co_return false;
      const auto before = plain_.size();
      auto r = transport_->decrypt(BytesView(buffer.data(), n), plain_);
      if (!r) throw ErrorException("client: " + r.error().message);
      if (plain_.size() > before) co_return true;
    }
  }

  // multistream-select inside the Noise channel.
  awaitable<void> select_secure(std::string protocol) {
    std::vector<std::string> protocols{std::move(protocol)};
    multistream::Initiator initiator(std::move(protocols));
    for (;;) {
      Bytes out = initiator.take_output();
      if (!out.empty()) co_await send(out);
      if (initiator.done()) break;
      if (!plain_.empty()) {
        auto consumed = initiator.receive(plain_);
        if (!consumed) throw ErrorException("client: " + consumed.error().message);
        plain_.erase(plain_.begin(), plain_.begin() + static_cast<std::ptrdiff_t>(*consumed));
        if (*consumed > 0) continue;
      }
      if (!co_await receive_more()) throw ErrorException("client: node closed during multistream-select");
    }
  }

  // The next Yamux frame from the node (data frames' bodies are skipped); nullopt at the end.
  awaitable<std::optional<yamux::Header>> next_frame() {
    for (;;) {
      auto decoded = yamux::decode_frame(plain_, 64 * 1024 * 1024);
      if (!decoded) throw ErrorException("client: bad yamux frame from node: " + decoded.error().message);
      if (*decoded) {
        auto header = (*decoded)->header;
        plain_.erase(plain_.begin(), plain_.begin() + static_cast<std::ptrdiff_t>((*decoded)->size));
        co_return header;
      }
      if (!co_await receive_more()) co_return std::nullopt;
    }
  }

  // A Yamux ping answered proves the session is up before the misbehaviour starts.
  awaitable<bool> yamux_ping(std::uint32_t opaque) {
    Bytes ping = yamux_header(yamux::FrameType::ping, yamux::flag::syn, 0, opaque);
    co_await send(ping);
    for (;;) {
      auto header = co_await next_frame();
      if (!header) co_return false;
      if (header->type == yamux::FrameType::ping && header->has(yamux::flag::ack) && header->length == opaque)
        co_return true;
    }
  }

  // Reads until the node ends the connection or `timeout` passes, noting any GoAway.
  awaitable<Ending> wait_for_end(Clock::duration timeout) {
    Ending ending;
    TcpStream* raw = tcp_.get();
    Deadline deadline(executor(), timeout, [raw] { raw->reset(); });
    try {
      for (;;) {
        auto header = co_await next_frame();
        if (!header) break;
        if (header->type == yamux::FrameType::go_away && !ending.go_away) ending.go_away = header->length;
      }
    } catch (const std::exception& e) {
      ending.error = e.what();
    }
    ending.closed = !deadline.expired();
    co_return ending;
  }

 private:
  std::unique_ptr<TcpStream> tcp_;
  std::optional<noise::SecureTransport> transport_;
  Bytes plain_;  // decrypted, not yet consumed
};

inline awaitable<std::unique_ptr<RawClient>> dial_raw(const stargate::testing::TestNode& node) {
  auto socket = co_await dial_tcp(to_tcp_endpoint(node.addr).value());
  co_return std::make_unique<RawClient>(std::move(socket));
}

// TCP -> /noise -> real handshake with a fresh identity -> /yamux/1.0.0, session checked with a ping.
inline awaitable<std::unique_ptr<RawClient>> open_yamux_session(const stargate::testing::TestNode& node) {
  auto client = co_await dial_raw(node);
  co_await client->select_plain(noise_protocol_id);
  auto identity = crypto::Ed25519PrivateKey::generate();
  auto key = noise::StaticNoiseKey::generate(identity);
  co_await client->secure(key, node.host.peer_id());
  co_await client->select_secure(yamux_protocol_id);
  const bool alive = co_await client->yamux_ping(0x5eed);
  if (!alive) throw ErrorException("client: the node did not answer a yamux ping");
  co_return client;
}

// Reads until the node closes; false if `timeout` passes first.
inline awaitable<bool> closed_by_peer(tcp::socket& socket, Clock::duration timeout) {
  auto* raw = &socket;
  Deadline deadline(socket.get_executor(), timeout, [raw] {
    boost::system::error_code ignored;
    raw->close(ignored);
  });
  std::uint8_t buffer[256];
  for (;;) {
    boost::system::error_code ec;
    co_await socket.async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  co_return !deadline.expired();
}

}  // namespace stargate::p2p
