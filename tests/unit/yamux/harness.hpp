#pragma once
// Test helpers: two Sessions wired back to back on a virtual clock, and frame builders for feeding
// one Session hand-made (often hostile) input.
#include "p2p/yamux/frame.hpp"
#include "p2p/yamux/session.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace stargate::p2p::yamux::test {

using namespace std::chrono_literals;
using TimePoint = Session::TimePoint;

inline TimePoint epoch() { return TimePoint{} + 1000h; }

inline Bytes frame(FrameType t, std::uint16_t flags, StreamId id, std::uint32_t length, BytesView body = {}) {
  Bytes out;
  append_frame(out, Header{t, flags, id, length}, body);
  return out;
}
inline Bytes data_frame(StreamId id, BytesView body, std::uint16_t flags = 0) {
  return frame(FrameType::data, flags, id, static_cast<std::uint32_t>(body.size()), body);
}

// Every frame in `wire` (which must hold whole frames).
inline std::vector<DecodedFrame> frames_in(BytesView wire) {
  std::vector<DecodedFrame> out;
  while (!wire.empty()) {
    auto f = decode_frame(wire, 0xffffffffu);
    EXPECT_TRUE(f.has_value() && f->has_value()) << "output holds a broken frame";
    if (!f || !*f) break;
    out.push_back(**f);
    wire = wire.subspan((*f)->size);
  }
  return out;
}

inline Bytes pattern(std::size_t n, std::uint32_t seed = 1) {
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x = x * 1103515245u + 12345u;
    v = static_cast<std::uint8_t>(x >> 16);
  }
  return b;
}

// One Session plus everything it reported.
struct Side {
  Side(Role role, Config cfg, TimePoint now) : s(role, cfg, now) {}

  Session s;
  bool auto_consume = true;  // report StreamData as consumed as soon as it arrives
  std::map<StreamId, Bytes> received;
  std::vector<StreamId> opened, remote_closed, resets, writable;
  std::vector<std::chrono::nanoseconds> rtts;
  std::vector<std::uint32_t> go_aways;
  std::optional<std::string> failure;

  void drain(TimePoint now) {
    while (auto e = s.poll_event()) {
      if (auto* d = std::get_if<StreamData>(&*e)) {
        auto& r = received[d->id];
        r.insert(r.end(), d->data.begin(), d->data.end());
        if (auto_consume) s.consumed(d->id, d->data.size(), now);
      } else if (auto* o = std::get_if<StreamOpened>(&*e)) {
        opened.push_back(o->id);
      } else if (auto* c = std::get_if<StreamRemoteClosed>(&*e)) {
        remote_closed.push_back(c->id);
      } else if (auto* r = std::get_if<StreamReset>(&*e)) {
        resets.push_back(r->id);
      } else if (auto* w = std::get_if<StreamWritable>(&*e)) {
        writable.push_back(w->id);
      } else if (auto* p = std::get_if<PingRtt>(&*e)) {
        rtts.push_back(p->rtt);
      } else if (auto* g = std::get_if<GoAwayReceived>(&*e)) {
        go_aways.push_back(g->code);
      } else if (auto* f = std::get_if<SessionFailed>(&*e)) {
        failure = f->reason;
      }
    }
  }
};

// A client and a server connected by an in-memory "wire". Each delivery moves the clock forward by
// `one_way` (so a round trip, and the measured RTT, is 2 * one_way).
struct Pair {
  explicit Pair(Config client_cfg = {}, Config server_cfg = {})
      : now(epoch()), client(Role::client, client_cfg, now), server(Role::server, server_cfg, now) {}

  TimePoint now;
  Side client;
  Side server;
  std::chrono::nanoseconds one_way{0};
  std::size_t chunk = 0;  // >0: deliver in pieces of this size (exercises partial frames)

  void deliver(Side& from, Side& to) {
    Bytes wire = from.s.take_output();
    now += one_way;
    if (chunk == 0) {
      to.s.receive(wire, now);
    } else {
      for (std::size_t off = 0; off < wire.size(); off += chunk) {
        to.s.receive(BytesView(wire).subspan(off, std::min(chunk, wire.size() - off)), now);
      }
    }
  }

  // Moves bytes both ways until both sides are quiet.
  void pump() {
    for (int rounds = 0; rounds < 100000; ++rounds) {
      client.drain(now);
      server.drain(now);
      const bool c = client.s.has_output();
      const bool s = server.s.has_output();
      if (!c && !s) return;
      if (c) deliver(client, server);
      if (s) deliver(server, client);
    }
    ADD_FAILURE() << "pump did not settle";
  }

  // Opens a stream on `from` and lets the other side see it.
  StreamId open(Side& from) {
    auto id = from.s.open_stream();
    EXPECT_TRUE(id.has_value());
    pump();
    return id.value();
  }

  // Writes all of `data` on stream `id`, pumping whenever the window closes.
  void send_all(Side& from, StreamId id, BytesView data) {
    std::size_t off = 0;
    int stalls = 0;
    while (off < data.size()) {
      const std::size_t n = from.s.write(id, data.subspan(off));
      off += n;
      pump();
      stalls = n == 0 ? stalls + 1 : 0;
      ASSERT_LT(stalls, 3) << "writer stuck at " << off << " of " << data.size();
    }
  }
};

// A single Session fed by hand.
struct Raw {
  explicit Raw(Role role = Role::server, Config cfg = {}) : now(epoch()), side(role, cfg, now) {
    side.s.take_output();  // drop the initial RTT ping
  }
  TimePoint now;
  Side side;
  Session& s() { return side.s; }

  void feed(BytesView bytes) {
    side.s.receive(bytes, now);
    side.drain(now);
  }
  std::vector<DecodedFrame> output_frames() {
    out = side.s.take_output();
    return frames_in(out);
  }
  // True if the session failed and its last frame out is a GoAway with this code.
  bool failed_with(std::uint32_t code) {
    auto frames = output_frames();
    return side.failure.has_value() && side.s.is_dead() && !frames.empty() &&
           frames.back().header.type == FrameType::go_away && frames.back().header.length == code;
  }

  Bytes out;
};

}  // namespace stargate::p2p::yamux::test
