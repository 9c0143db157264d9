#pragma once
// DHT value records (sans-IO): validators per key namespace, and the bounded store a server
// keeps. A key is "/<namespace>/<rest>"; a record in a namespace without a validator is refused,
// as every libp2p implementation does, so that the DHT cannot be used as free storage.
//   /pk/<PeerId multihash>   the peer's public key (libp2p PublicKey protobuf), checked by hash
//   others                   registered by the application (Stargate's /stargate/ namespace)
#include "base/bytes.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stargate::p2p::kad {

struct RecordValidator {
  // Empty when `value` is valid for `key`, else why not.
  std::function<std::string(BytesView key, BytesView value)> validate;
  // Index of the best of several valid values for `key` (e.g. the newest).
  std::function<std::size_t(BytesView key, const std::vector<Bytes>& values)> select;
};

class RecordValidators {
 public:
  RecordValidators();  // with /pk/
  void add(std::string name_space, RecordValidator validator);
  std::string validate(BytesView key, BytesView value) const;
  std::size_t select(BytesView key, const std::vector<Bytes>& values) const;

 private:
  const RecordValidator* find(BytesView key) const;
  std::map<std::string, RecordValidator, std::less<>> validators_;
};

// "/pk/" + the PeerId's multihash: the key its public key is stored under.
Bytes public_key_record_key(BytesView peer_id_multihash);

struct RecordStoreConfig {
  std::size_t max_records = 10000;
  std::size_t max_value_size = 64 * 1024;
  std::chrono::seconds ttl{36 * 3600};  // as go-libp2p: records must be republished
};

class RecordStore {
 public:
  using Time = std::chrono::steady_clock::time_point;
  explicit RecordStore(RecordStoreConfig config = {}) : config_(config) {}
  // Stores (or replaces) a record the caller has validated; false when too large or full.
  bool put(const Bytes& key, Bytes value, Time now);
  std::optional<Bytes> get(const Bytes& key, Time now) const;
  void expire(Time now);
  std::size_t size() const { return records_.size(); }
  const RecordStoreConfig& config() const { return config_; }

 private:
  struct Stored {
    Bytes value;
    Time expires;
  };
  RecordStoreConfig config_;
  std::map<Bytes, Stored> records_;
};

}  // namespace stargate::p2p::kad
