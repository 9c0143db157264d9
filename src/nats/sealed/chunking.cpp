#include "nats/sealed/chunking.hpp"

#include "base/endian.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace stargate::nats::sealed {

namespace {

// Offset and length of slice `index` (the layout of chunk_slice_size()).
std::pair<std::uint64_t, std::uint64_t> slice_range(std::uint32_t total, std::uint32_t count, std::uint32_t index) {
  const std::uint64_t size = chunk_slice_size(total, count);
  const std::uint64_t begin = std::min<std::uint64_t>(std::uint64_t{index} * size, total);
  const std::uint64_t end = std::min<std::uint64_t>(begin + size, total);
  return {begin, end - begin};
}

}  // namespace

MessageId random_message_id() { return random_message_id(crypto::or_system_random({})); }

MessageId random_message_id(const crypto::RandomSource& random) {
  MessageId id{};
  random(id);
  return id;
}

bool is_chunk(BytesView payload) { return !payload.empty() && payload[0] == chunk_type; }

std::uint32_t chunk_slice_size(std::uint32_t total, std::uint32_t count) {
  if (count == 0) return total;
  return static_cast<std::uint32_t>((std::uint64_t{total} + count - 1) / count);
}

Result<std::pair<ChunkHeader, BytesView>> parse_chunk(BytesView chunk) {
  if (chunk.size() < chunk_header_size) return make_error("chunk: shorter than its header");
  if (chunk[0] != chunk_type) return make_error("chunk: not a chunk (type byte)");
  if (chunk[1] != chunk_version) return make_error("chunk: unknown version " + std::to_string(chunk[1]));
  if (chunk[2] != 0 || chunk[3] != 0) return make_error("chunk: reserved bytes are not zero");
  ChunkHeader h;
  std::memcpy(h.id.data(), chunk.data() + 4, h.id.size());
  h.index = load_be32(chunk.data() + 20);
  h.count = load_be32(chunk.data() + 24);
  h.total = load_be32(chunk.data() + 28);
  if (h.count == 0) return make_error("chunk: count is zero");
  if (h.index >= h.count) return make_error("chunk: index not below count");
  if (h.total == 0 ? h.count != 1 : h.count > h.total) return make_error("chunk: more chunks than bytes");
  // No empty chunk: the last one starts before the end.
  if (h.total != 0 && std::uint64_t{h.count - 1} * chunk_slice_size(h.total, h.count) >= h.total) {
    return make_error("chunk: count leaves an empty chunk");
  }
  const BytesView slice = chunk.subspan(chunk_header_size);
  if (slice.size() != slice_range(h.total, h.count, h.index).second) {
    return make_error("chunk: slice length does not match index, count and total");
  }
  return std::pair<ChunkHeader, BytesView>{h, slice};
}

Result<std::vector<Bytes>> split(BytesView sealed, std::size_t max_chunk_size, const MessageId& id) {
  if (max_chunk_size <= chunk_header_size) {
    return make_error("chunk: max chunk size " + std::to_string(max_chunk_size) + " leaves no room past the " +
                      std::to_string(chunk_header_size) + "-byte header");
  }
  if (sealed.size() > std::numeric_limits<std::uint32_t>::max()) return make_error("chunk: message of 4 GiB or more");
  const auto total = static_cast<std::uint32_t>(sealed.size());
  const std::size_t room = max_chunk_size - chunk_header_size;
  const auto count = static_cast<std::uint32_t>(std::max<std::size_t>(1, (sealed.size() + room - 1) / room));
  // (count - 1) * room < total and slice size <= room, so no chunk is empty and none exceeds room.
  std::vector<Bytes> chunks;
  chunks.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto [begin, length] = slice_range(total, count, i);
    Bytes c(chunk_header_size + length);
    c[0] = chunk_type;
    c[1] = chunk_version;
    std::memcpy(c.data() + 4, id.data(), id.size());
    store_be32(c.data() + 20, i);
    store_be32(c.data() + 24, count);
    store_be32(c.data() + 28, total);
    if (length != 0) std::memcpy(c.data() + chunk_header_size, sealed.data() + begin, length);
    chunks.push_back(std::move(c));
  }
  return chunks;
}

Reassembler::Reassembler() : Reassembler(Config{}) {}

Reassembler::Reassembler(Config config) : config_(config) {}

Reassembler::Key Reassembler::make_key(const MessageId& id, std::string_view sender) {
  Key k;
  k.reserve(id.size() + sender.size());
  k.append(reinterpret_cast<const char*>(id.data()), id.size());
  k.append(sender);
  return k;
}

void Reassembler::forget_old(TimePoint now) {
  while (!recent_order_.empty() && (recent_order_.front().first <= now || recent_order_.size() > config_.max_recent)) {
    recent_.erase(recent_order_.front().second);
    recent_order_.pop_front();
  }
}

void Reassembler::remember(const Key& key, TimePoint now) {
  if (config_.max_recent == 0 || !recent_.insert(key).second) return;
  recent_order_.emplace_back(now + config_.timeout, key);
  forget_old(now);
}

void Reassembler::release(std::unordered_map<Key, Pending>::iterator it) {
  Pending& p = it->second;
  deadlines_.erase({p.deadline, it->first});
  pending_bytes_ -= p.total;
  auto s = senders_.find(p.sender);
  if (s != senders_.end()) {
    s->second.bytes -= p.total;
    if (--s->second.messages == 0) senders_.erase(s);
  }
  messages_.erase(it);
}

void Reassembler::expire(TimePoint now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const Key key = deadlines_.begin()->second;
    auto it = messages_.find(key);
    if (it == messages_.end()) {  // cannot happen: both maps change together
      deadlines_.erase(deadlines_.begin());
      continue;
    }
    release(it);
    remember(key, now);
  }
  forget_old(now);
}

std::optional<Reassembler::TimePoint> Reassembler::next_expiry() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

Result<std::optional<Bytes>> Reassembler::add(std::string_view sender, BytesView chunk, TimePoint now) {
  expire(now);
  auto parsed = parse_chunk(chunk);
  if (!parsed) return parsed.error();
  const auto& [h, slice] = *parsed;
  if (sender.size() > config_.max_sender_length) return make_error("chunk: sender key too long");
  if (h.total > config_.max_message_bytes) {
    return make_error("chunk: message of " + std::to_string(h.total) + " bytes over the limit of " +
                      std::to_string(config_.max_message_bytes));
  }
  if (h.count > config_.max_chunks_per_message) {
    return make_error("chunk: " + std::to_string(h.count) + " chunks over the limit of " +
                      std::to_string(config_.max_chunks_per_message));
  }

  Key key = make_key(h.id, sender);
  auto it = messages_.find(key);
  if (it != messages_.end()) {
    Pending& p = it->second;
    if (p.count != h.count || p.total != h.total) {
      return make_error("chunk: count or total differ from earlier chunks of the same message");
    }
    if (p.have[h.index]) return std::optional<Bytes>{};  // duplicate: the first copy stays
    if (!slice.empty()) {
      std::memcpy(p.buffer.data() + slice_range(h.total, h.count, h.index).first, slice.data(), slice.size());
    }
    p.have[h.index] = true;
    if (++p.received < p.count) return std::optional<Bytes>{};
    Bytes whole = std::move(p.buffer);
    release(it);
    remember(key, now);
    return std::optional<Bytes>{std::move(whole)};
  }

  if (recent_.contains(key)) return std::optional<Bytes>{};  // completed, expired or refused: ignore
  if (h.count == 1) {  // the whole message in one chunk: nothing to hold
    remember(key, now);
    return std::optional<Bytes>{Bytes(slice.begin(), slice.end())};
  }

  // A new message: check every bound before allocating; refusing never evicts progress.
  auto refuse = [&](std::string why) -> Result<std::optional<Bytes>> {
    remember(key, now);
    return make_error("chunk: message refused, " + why);
  };
  auto s = senders_.find(std::string(sender));
  const SenderUsage usage = s == senders_.end() ? SenderUsage{} : s->second;
  if (s == senders_.end() && senders_.size() >= config_.max_senders) return refuse("too many senders");
  if (usage.messages + 1 > config_.max_pending_messages_per_sender) {
    return refuse("too many incomplete messages from this sender");
  }
  if (usage.bytes + h.total > config_.max_pending_bytes_per_sender) {
    return refuse("too many pending bytes from this sender");
  }
  if (pending_bytes_ + h.total > config_.max_pending_bytes_total) return refuse("too many pending bytes in all");

  Pending p;
  p.sender = std::string(sender);
  p.count = h.count;
  p.total = h.total;
  p.received = 1;
  p.deadline = now + config_.timeout;
  p.buffer.resize(h.total);
  p.have.assign(h.count, false);
  p.have[h.index] = true;
  std::memcpy(p.buffer.data() + slice_range(h.total, h.count, h.index).first, slice.data(), slice.size());

  auto& u = senders_[p.sender];
  ++u.messages;
  u.bytes += h.total;
  pending_bytes_ += h.total;
  deadlines_.emplace(p.deadline, key);
  messages_.emplace(std::move(key), std::move(p));
  return std::optional<Bytes>{};
}

}  // namespace stargate::nats::sealed
