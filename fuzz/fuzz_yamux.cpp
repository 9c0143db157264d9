// libFuzzer target for Yamux: the frame codec, and a server Session driven by hostile input.
//
// Even first byte: differential parser check. The rest is wire input, fed to one session in a
//   single call and to another in pieces whose sizes come from the input; both must produce the
//   same output and the same events (after merging adjacent data), so frame splitting can never
//   change behaviour.
// Odd first byte: a script of wire input (raw or as well-formed frames) interleaved with app
//   actions (open, write, consume, close, reset, timers, ping, go-away), checking invariants:
//   output is always well-formed frames, pending output stays bounded, a dead session stays dead
//   and quiet.
#include "p2p/yamux/frame.hpp"
#include "p2p/yamux/session.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace stargate;
using namespace stargate::p2p::yamux;

namespace {

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      __builtin_trap();                                               \
    }                                                                 \
  } while (0)

Config fuzz_config() {
  Config c;
  c.max_window = 1024 * 1024;
  c.max_connection_window_growth = 2 * 1024 * 1024;
  c.max_streams = 8;
  c.max_pending_output = 64 * 1024;
  c.max_frame_data = 512 * 1024;
  c.max_send_frame = 1024;
  c.keepalive_interval = std::chrono::milliseconds(1000);
  c.ping_timeout = std::chrono::milliseconds(500);
  c.max_inbound_pending_accept = 4;
  return c;
}

Session::TimePoint start() { return Session::TimePoint{} + std::chrono::hours(1); }

class Input {
 public:
  Input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool empty() const { return n_ == 0; }
  std::uint8_t byte() {
    if (n_ == 0) return 0;
    --n_;
    return *d_++;
  }
  BytesView take(std::size_t n) {
    n = std::min(n, n_);
    BytesView v(d_, n);
    d_ += n;
    n_ -= n;
    return v;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
};

void check_codec(BytesView in) {
  auto f = decode_frame(in, 1 << 20);
  if (!f || !*f) return;
  Bytes again;
  append_frame(again, (*f)->header, (*f)->body);
  CHECK(again.size() == (*f)->size);
  CHECK(std::memcmp(again.data(), in.data(), again.size()) == 0);
}

// Output must always be whole, well-formed frames.
void check_output(const Bytes& out, const Config& cfg) {
  BytesView rest(out);
  while (!rest.empty()) {
    auto f = decode_frame(rest, cfg.max_send_frame);
    CHECK(f.has_value() && f->has_value());
    rest = rest.subspan((*f)->size);
  }
}

// Events in a comparable form: adjacent data of one stream merged.
std::vector<std::string> normalized_events(Session& s) {
  std::vector<std::string> out;
  StreamId last_data = 0;
  while (auto e = s.poll_event()) {
    if (auto* d = std::get_if<StreamData>(&*e)) {
      CHECK(d->id != 0 && !d->data.empty());
      std::string bytes(d->data.begin(), d->data.end());
      if (last_data == d->id && !out.empty()) {
        out.back() += bytes;
      } else {
        out.push_back("data " + std::to_string(d->id) + ":" + bytes);
      }
      last_data = d->id;
      continue;
    }
    last_data = 0;
    out.push_back(std::to_string(e->index()));
  }
  return out;
}

void differential(Input in) {
  const Config cfg = fuzz_config();
  Session whole(Role::server, cfg, start());
  Session split(Role::server, cfg, start());
  const std::size_t n_sizes = 1 + in.byte() % 8;
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < n_sizes; ++i) sizes.push_back(1 + in.byte() % 32);
  const BytesView wire = in.take(SIZE_MAX);
  check_codec(wire);

  whole.receive(wire, start());
  for (std::size_t off = 0, i = 0; off < wire.size(); ++i) {
    const std::size_t n = std::min(sizes[i % sizes.size()], wire.size() - off);
    split.receive(wire.subspan(off, n), start());
    off += n;
  }
  CHECK(whole.take_output() == split.take_output());
  CHECK(normalized_events(whole) == normalized_events(split));
  CHECK(whole.is_dead() == split.is_dead());
  CHECK(whole.stream_count() == split.stream_count());
}

void script(Input in) {
  const Config cfg = fuzz_config();
  auto now = start();
  Session s(Role::server, cfg, now);
  std::vector<StreamId> ids{2, 1, 3};
  static const Bytes payload = [] {
    Bytes b(64 * 1024);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 7);
    return b;
  }();
  // Control frames the app itself queues (FIN, RST, window updates, go-away) may exceed the
  // budget by a bounded amount; the peer alone may not.
  const std::size_t slack = (4 * cfg.max_streams + 8) * kHeaderSize;
  bool drained_after_death = false;
  auto pick = [&] { return ids[in.byte() % ids.size()]; };

  while (!in.empty()) {
    const bool was_dead = s.is_dead();
    switch (in.byte() % 10) {
      case 0: {
        const std::size_t n = 1 + in.byte() + 256 * (in.byte() % 4);
        s.receive(in.take(n), now);
        break;
      }
      case 1: {
        Header h;
        h.type = static_cast<FrameType>(in.byte() % 4);
        h.flags = in.byte() % 16;
        h.stream_id = in.byte() % 16;
        Bytes f;
        if (h.type == FrameType::data) {
          h.length = static_cast<std::uint32_t>(in.byte()) * (in.byte() % 4 == 0 ? 1024 : 1);
          append_frame(f, h, BytesView(payload).first(std::min<std::size_t>(h.length, payload.size())));
          f.resize(kHeaderSize + h.length);  // zero-filled beyond the pattern
        } else {
          h.length = static_cast<std::uint32_t>(in.byte()) << (8 * (in.byte() % 4));
          append_header(f, h);
        }
        s.receive(f, now);
        break;
      }
      case 2:
        if (auto id = s.open_stream()) ids.push_back(*id);
        break;
      case 3: {
        const StreamId id = pick();
        const std::size_t n = std::size_t{in.byte()} * 256;
        const std::size_t w = s.send_window(id);
        const std::size_t took = s.write(id, BytesView(payload).first(n));
        CHECK(took <= n && took <= w);
        break;
      }
      case 4:
        s.consumed(pick(), std::size_t{in.byte()} * 1024, now);
        break;
      case 5:
        s.close_write(pick());
        break;
      case 6:
        s.reset(pick());
        break;
      case 7:
        now += std::chrono::milliseconds(in.byte() * 10);
        s.on_timer(now);
        if (auto t = s.next_timeout()) CHECK(*t > now);  // everything due has been handled
        break;
      case 8: {
        const Bytes out = s.take_output();
        check_output(out, cfg);
        if (drained_after_death) CHECK(out.empty());  // a dead session stays quiet
        if (s.is_dead()) drained_after_death = true;
        while (auto e = s.poll_event()) {
          if (auto* o = std::get_if<StreamOpened>(&*e)) ids.push_back(o->id);
          if (auto* d = std::get_if<StreamData>(&*e)) CHECK(!d->data.empty());
        }
        break;
      }
      case 9:
        if (in.byte() % 2) {
          s.ping(now);
        } else {
          s.go_away(in.byte());
        }
        break;
    }
    CHECK(s.pending_output() <= cfg.max_pending_output + slack);
    CHECK(s.stream_count() <= 2 * cfg.max_streams);
    if (was_dead) CHECK(s.is_dead() && s.stream_count() == 0);
    for (StreamId id : ids) CHECK(s.receive_window(id) <= cfg.max_window);
    if (ids.size() > 64) ids.erase(ids.begin() + 3, ids.begin() + 35);
  }
  check_output(s.take_output(), cfg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Input in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    differential(in);
  } else {
    script(in);
  }
  return 0;
}
