#pragma once
// A JetStream key-value bucket (JetStream::key_value), on nats.c's kvStore: the stream KV_<bucket>
// holding one subject per key, $KV.<bucket>.<key>. Every call is a request to the server made on
// the client's JetStream worker while the coroutine waits on the executor.
//
// Keys: letters, digits and -/_=. (no leading or trailing dot); agent IDs (32 hex) fit. Values are
// bounded by max_value_size and by the server's max_payload, checked before anything is sent.
// A TTL is the bucket's (the stream's max_age): a value not rewritten within it disappears;
// nats-server 2.9 has no per-key TTL.
#include "nats/client.hpp"
#include "nats/jetstream_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stargate::nats {

namespace detail {
struct KvStoreCache;
}  // namespace detail

struct KvConfig {
  std::string bucket;                  // no '.', '*', '>' or spaces
  int history = 1;                     // values kept per key, 1..64
  std::chrono::milliseconds ttl{0};    // 0: values never expire
  std::int32_t max_value_size = -1;    // bytes; -1: up to the server's max_payload
  std::int64_t max_bytes = -1;         // the whole bucket; -1: no bound
  StorageType storage = StorageType::file;
};

struct KvEntry {
  Bytes value;
  std::uint64_t revision = 0;  // the stream sequence of this value: grows with every write to the bucket
  std::chrono::system_clock::time_point created;
};

// KvBucket::create() on a key that holds a value.
class KvKeyExists : public JetStreamError {
 public:
  using JetStreamError::JetStreamError;
};

class KvBucket : public std::enable_shared_from_this<KvBucket> {
  struct Private {};

 public:
  KvBucket(Private, std::shared_ptr<Client> client, KvConfig config, std::chrono::milliseconds timeout,
           std::shared_ptr<detail::KvStoreCache> store);
  ~KvBucket();
  KvBucket(const KvBucket&) = delete;
  KvBucket& operator=(const KvBucket&) = delete;

  // Await these directly: their arguments are read before they first suspend, not copied.

  // Stores the value; returns its revision.
  boost::asio::awaitable<std::uint64_t> put(std::string_view key, BytesView value);
  // The key's value, or nullopt when the key has none (never written, deleted, or expired).
  // Failures (no answer, no bucket) throw JetStreamError.
  boost::asio::awaitable<std::optional<KvEntry>> get(std::string_view key);
  // Stores the value only if the key has none (also after a delete); throws KvKeyExists otherwise.
  boost::asio::awaitable<std::uint64_t> create(std::string_view key, BytesView value);
  // Deletes the key's value (a delete marker; the history before it stays until it ages out).
  boost::asio::awaitable<void> remove(std::string_view key);

  const KvConfig& config() const { return config_; }
  // The largest value put() accepts now: max_value_size, or the server's max_payload.
  std::size_t max_value_size() const;

 private:
  friend class JetStream;
  boost::asio::awaitable<std::uint64_t> write(std::string_view key, BytesView value, bool only_if_absent);

  std::shared_ptr<Client> client_;
  KvConfig config_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<detail::KvStoreCache> store_;  // nats.c's kvStore, used on the worker only
};

}  // namespace stargate::nats
