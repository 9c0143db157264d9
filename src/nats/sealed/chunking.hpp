#pragma once
// Chunks: how a sealed message larger than the broker's max_payload crosses NATS
// (docs/nats-sealed-session.md, "Chunks"). Sans-IO: no socket, no clock (`now` is passed in).
//
//   sender                                              receiver
//   if (sealed.size() <= limit) publish(sealed);        if (!is_chunk(payload)) table.open(payload, ..);
//   else for (auto& c : split(sealed, limit,            else if (auto r = reassembler.add(reply_subject,
//                             random_message_id())                 payload, steady_now); !r) count(r.error());
//                             .value()) publish(c);     else if (*r) table.open(**r, ..);  // whole message
//                                                       // and on a timer: reassembler.expire(steady_now)
//                                                       //                 (next_expiry() says when)
//
// `limit` is the largest payload the sender may publish: the server's announced max_payload minus
// room for NATS headers, if any. Every chunk split() makes is at most `limit` bytes, header included.
//
// Chunk headers are not secret and not authenticated: the sealed layer authenticates the reassembled
// message, so a forged chunk can only make that open fail. The reassembler's job is to bound what
// anyone on the broker can make it hold: bytes, messages and senders, and for how long.
//
// Not thread-safe: use it from one strand.
#include "base/bytes.hpp"
#include "base/result.hpp"
#include "crypto/random.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace stargate::nats::sealed {

// First byte of every chunk: distinct from the sealed message types (1, 2, 3) and from '{' (0x7b),
// which starts the plain JSON documents (announcements, discovery) sent on NATS.
inline constexpr std::uint8_t chunk_type = 0xC5;
inline constexpr std::uint8_t chunk_version = 1;
//   0 u8 type = 0xC5   1 u8 version = 1   2 u16 reserved = 0   4 message id (16)
//   20 u32 index   24 u32 count   28 u32 total   32 slice      (integers big-endian)
inline constexpr std::size_t chunk_header_size = 32;

using MessageId = std::array<std::uint8_t, 16>;

// 16 random bytes (the operating system's CSPRNG, via crypto/random).
MessageId random_message_id();
// 16 bytes of an injected source (a seeded one makes split()'s output reproducible, for tests).
MessageId random_message_id(const crypto::RandomSource& random);

struct ChunkHeader {
  MessageId id{};
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  std::uint32_t total = 0;  // length of the whole message
};

// True when a NATS payload is a chunk (its first byte is chunk_type), so route it to a Reassembler;
// anything else is a whole message. Does not validate the rest (add() does).
bool is_chunk(BytesView payload);

// Every chunk but the last carries chunk_slice_size(total, count) bytes, the last one the rest:
// chunk i holds bytes [i * size, min(total, (i + 1) * size)) of the message. Precondition: count >= 1.
std::uint32_t chunk_slice_size(std::uint32_t total, std::uint32_t count);

// Parses and checks a chunk on its own: type, version, reserved bytes, count >= 1, index < count,
// count <= total unless total == 0 (then count == 1), no empty chunk, and the slice length the
// layout above gives for (index, count, total). Bounds are the Reassembler's business.
Result<std::pair<ChunkHeader, BytesView>> parse_chunk(BytesView chunk);

// Cuts `sealed` into ceil(size / (max_chunk_size - header)) chunks (at least one, even for an empty
// message), each at most max_chunk_size bytes with its header. Errors: max_chunk_size <=
// chunk_header_size, a message of 4 GiB or more. Each byte is copied once.
Result<std::vector<Bytes>> split(BytesView sealed, std::size_t max_chunk_size, const MessageId& id);

class Reassembler {
 public:
  // Monotonic time: timeouts must not move with the wall clock.
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  struct Config {
    // Largest whole message (the total in the header): the sealed layer's 10 MiB plaintext limit
    // plus room for its overhead.
    std::size_t max_message_bytes = 10 * 1024 * 1024 + 64 * 1024;
    // Most chunks per message (bounds the per-message bookkeeping; 10 MiB in 4096 chunks is 2.5 KiB
    // each, far below any real max_payload).
    std::uint32_t max_chunks_per_message = 4096;
    // Incomplete messages and their bytes (the totals, preallocated) per sender, and in all.
    std::size_t max_pending_messages_per_sender = 8;
    std::size_t max_pending_bytes_per_sender = 12 * 1024 * 1024;
    std::size_t max_pending_bytes_total = 64 * 1024 * 1024;
    // Senders with at least one incomplete message.
    std::size_t max_senders = 1024;
    // Longest sender key accepted (NATS subjects are short; this bounds memory per key).
    std::size_t max_sender_length = 1024;
    // An incomplete message is dropped this long after its first chunk arrived.
    std::chrono::nanoseconds timeout = std::chrono::seconds(30);
    // Messages recently completed, expired or refused: their late or remaining chunks are ignored
    // (not restarted) for `timeout`. At most this many are remembered, oldest forgotten first.
    std::size_t max_recent = 4096;
  };

  Reassembler();
  explicit Reassembler(Config config);

  // Feeds one chunk from `sender` (the NATS reply subject, or any key the caller trusts as much).
  // Returns the whole message when this chunk completes it (chunks may come in any order), nullopt
  // while it is incomplete, or when the chunk is a duplicate or belongs to a message already
  // completed, expired or refused (ignored). Errors (the chunk is dropped, the rest of its message
  // kept): malformed chunk, count or total over the bounds, a header inconsistent with earlier chunks
  // of the same message id, sender key too long. Errors that refuse a new message (none of its chunks
  // will be kept until it is forgotten): a per-sender, sender-count or total bound would be exceeded.
  // Bounds never evict messages already in progress.
  // Calls expire(now) first.
  Result<std::optional<Bytes>> add(std::string_view sender, BytesView chunk, TimePoint now);

  // Drops incomplete messages whose deadline is <= now, freeing their bytes.
  void expire(TimePoint now);
  // The earliest deadline of an incomplete message: when to call expire() next.
  std::optional<TimePoint> next_expiry() const;

  // Bytes held by incomplete messages (their preallocated buffers), never above
  // max_pending_bytes_total.
  std::size_t pending_bytes() const { return pending_bytes_; }
  std::size_t pending_messages() const { return messages_.size(); }
  std::size_t pending_senders() const { return senders_.size(); }

  const Config& config() const { return config_; }

 private:
  // Key of one message: the 16-byte id followed by the sender (unambiguous: the id has a fixed size).
  using Key = std::string;

  struct Pending {
    std::string sender;
    std::uint32_t count = 0;
    std::uint32_t total = 0;
    std::uint32_t received = 0;
    TimePoint deadline;
    Bytes buffer;             // total bytes, preallocated once the header passed every bound
    std::vector<bool> have;   // count bits
  };
  struct SenderUsage {
    std::size_t messages = 0;
    std::size_t bytes = 0;
  };

  static Key make_key(const MessageId& id, std::string_view sender);
  void remember(const Key& key, TimePoint now);
  void forget_old(TimePoint now);
  void release(std::unordered_map<Key, Pending>::iterator it);

  Config config_;
  std::unordered_map<Key, Pending> messages_;
  std::set<std::pair<TimePoint, Key>> deadlines_;
  std::unordered_map<std::string, SenderUsage> senders_;
  std::size_t pending_bytes_ = 0;
  // Recently finished message keys, oldest first, with the time they may be forgotten.
  std::deque<std::pair<TimePoint, Key>> recent_order_;
  std::unordered_set<Key> recent_;
};

}  // namespace stargate::nats::sealed
