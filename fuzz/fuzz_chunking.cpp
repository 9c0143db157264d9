// libFuzzer target: the NATS chunk reassembler (src/nats/sealed/chunking) fed arbitrary chunk
// sequences. The input is a list of operations, each starting with an opcode byte:
//   0: raw chunk      u8 sender, u16 length, bytes          (anything, as read off the broker)
//   1: shaped chunk   u8 sender, u8 id, u16 index, u16 count, u16 total, u16 slice length
//                     (a header with a valid type and version, so deeper checks are reached)
//   2: genuine message u8 sender, u8 id, u16 size, u16 chunk room, u8 order seed: split() then
//                     fed in a rotated / reversed order; if it completes, it must equal the input
//   3: time passes    u8 seconds
//   4: expire(now)
// Invariants checked after every operation: pending bytes within every bound, no message returned
// larger than the limit, next_expiry() is after the last expire() time. At the end, expiring far in
// the future frees everything.
#include "nats/sealed/chunking.hpp"

#include "base/endian.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

using namespace stargate;
using namespace stargate::nats::sealed;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>((u8() << 8) | u8()); }
  BytesView take(std::size_t len) {
    len = std::min(len, n);
    BytesView v(p, len);
    p += len;
    n -= len;
    return v;
  }
};

std::string sender_name(std::uint8_t s) { return "_INBOX.s" + std::to_string(s % 6); }

MessageId id_of(std::uint8_t v) {
  MessageId id{};
  id[0] = v;
  id[15] = static_cast<std::uint8_t>(~v);
  return id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reassembler::Config config;
  config.max_message_bytes = 8192;
  config.max_chunks_per_message = 64;
  config.max_pending_messages_per_sender = 3;
  config.max_pending_bytes_per_sender = 12000;
  config.max_pending_bytes_total = 30000;
  config.max_senders = 4;
  config.max_recent = 16;
  config.timeout = std::chrono::seconds(30);
  Reassembler r(config);

  const auto t0 = Reassembler::TimePoint{} + std::chrono::hours(1);
  auto now = t0;

  auto checked_add = [&](const std::string& sender, BytesView chunk) {
    auto res = r.add(sender, chunk, now);
    if (res && *res) check((*res)->size() <= config.max_message_bytes);
    return res;
  };
  auto invariants = [&] {
    check(r.pending_bytes() <= config.max_pending_bytes_total);
    check(r.pending_senders() <= config.max_senders);
    check(r.pending_messages() <= config.max_senders * config.max_pending_messages_per_sender);
    check(r.pending_bytes() <= r.pending_senders() * config.max_pending_bytes_per_sender);
    check(r.pending_messages() == 0 ? r.pending_bytes() == 0 && !r.next_expiry() : r.next_expiry().has_value());
  };

  Reader in{data, size};
  int ops = 0;
  while (!in.empty() && ops++ < 256) {
    switch (in.u8() % 5) {
      case 0: {
        const std::string sender = sender_name(in.u8());
        const BytesView raw = in.take(in.u16() % 2048);
        (void)checked_add(sender, raw);
        if (!raw.empty() && raw[0] != chunk_type) check(!parse_chunk(raw).has_value());
        break;
      }
      case 1: {
        const std::string sender = sender_name(in.u8());
        const std::uint8_t id = in.u8();
        const std::uint32_t index = in.u16();
        const std::uint32_t count = in.u16();
        const std::uint32_t total = in.u16();
        const std::size_t len = in.u16() % 4096;
        Bytes c(chunk_header_size + len, 0x5A);
        c[0] = chunk_type;
        c[1] = chunk_version;
        c[2] = c[3] = 0;
        const MessageId mid = id_of(id % 8);
        std::copy(mid.begin(), mid.end(), c.begin() + 4);
        store_be32(c.data() + 20, index);
        store_be32(c.data() + 24, count);
        store_be32(c.data() + 28, total);
        auto parsed = parse_chunk(c);
        auto res = checked_add(sender, c);
        if (!parsed) check(!res.has_value());
        if (res && *res) check((*res)->size() == total);
        break;
      }
      case 2: {
        const std::string sender = sender_name(in.u8());
        const MessageId mid = id_of(static_cast<std::uint8_t>(0x80 | in.u8()));
        const std::size_t msg_size = in.u16() % 10000;
        const std::size_t room = 1 + in.u16() % 3000;
        const std::uint8_t seed = in.u8();
        Bytes msg(msg_size);
        for (std::size_t i = 0; i < msg_size; ++i) msg[i] = static_cast<std::uint8_t>(i * 131 + seed);
        auto chunks = split(msg, chunk_header_size + room, mid);
        check(chunks.has_value());
        check(!chunks->empty());
        for (const auto& c : *chunks) {
          check(c.size() <= chunk_header_size + room);
          check(is_chunk(c));
          check(parse_chunk(c).has_value());
        }
        if (seed & 1) std::reverse(chunks->begin(), chunks->end());
        std::rotate(chunks->begin(), chunks->begin() + static_cast<std::ptrdiff_t>(seed % chunks->size()),
                    chunks->end());
        for (const auto& c : *chunks) {
          auto res = checked_add(sender, c);
          if (res && *res) check(**res == msg);
        }
        break;
      }
      case 3:
        now += std::chrono::seconds(in.u8());
        break;
      case 4:
        r.expire(now);
        if (auto e = r.next_expiry()) check(*e > now);
        break;
    }
    invariants();
  }
  r.expire(now + config.timeout);
  check(r.pending_bytes() == 0 && r.pending_messages() == 0 && r.pending_senders() == 0 && !r.next_expiry());
  return 0;
}
