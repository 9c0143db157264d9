// Key-value buckets (see kv_bucket.hpp): made or bound by JetStream::key_value, used through
// nats.c's kvStore on the client's JetStream worker.
#include "nats/kv_bucket.hpp"

#include "nats/client_text.hpp"
#include "nats/jetstream.hpp"
#include "nats/jetstream_call.hpp"
#include "nats/jetstream_limits.hpp"
#include "nats/message_fields.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace stargate::nats {

namespace asio = boost::asio;
using detail::call_off_executor;
using detail::js_context;
using detail::throw_js_error;

namespace detail {

// nats.c's kvStore for the bucket, bound to one connection (through the jsCtx it retains): made
// again when the client's connection was replaced. Used on the JetStream worker only, one call at
// a time.
struct KvStoreCache {
  KvStoreCache() = default;
  KvStoreCache(const KvStoreCache&) = delete;
  KvStoreCache& operator=(const KvStoreCache&) = delete;
  ~KvStoreCache() { kvStore_Destroy(kv); }
  kvStore* kv = nullptr;
  natsConnection* nc = nullptr;
};

namespace {

constexpr std::int64_t kKvNanosPerMilli = 1'000'000;

// The stream settings a KvConfig stands for, as nats.c's js_CreateKeyValue sets them.
void apply_kv_limits(const KvConfig& config, jsStreamConfig& sc) {
  sc.MaxMsgsPerSubject = config.history;
  sc.MaxAge = config.ttl.count() * kKvNanosPerMilli;
  sc.MaxMsgSize = config.max_value_size > 0 ? config.max_value_size : -1;
  sc.MaxBytes = config.max_bytes > 0 ? config.max_bytes : -1;
}

// Creates the bucket, or updates an existing one to `config` (what the server lets change), and
// binds to it. On the worker.
kvStore* open_bucket(jsCtx* js, const KvConfig& config, const std::string& what, std::chrono::milliseconds timeout) {
  std::string stream = "KV_" + config.bucket;
  jsStorageType storage = config.storage == StorageType::memory ? js_MemoryStorage : js_FileStorage;
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus status = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &code);
  kvStore* kv = nullptr;
  if (status == NATS_NOT_FOUND) {
    kvConfig c;
    kvConfig_Init(&c);
    c.Bucket = config.bucket.c_str();
    c.History = static_cast<std::uint8_t>(config.history);
    c.TTL = config.ttl.count() * kKvNanosPerMilli;
    c.MaxValueSize = config.max_value_size > 0 ? config.max_value_size : 0;
    c.MaxBytes = config.max_bytes > 0 ? config.max_bytes : 0;
    c.StorageType = storage;
    status = js_CreateKeyValue(&kv, js, &c);
    if (status != NATS_OK) throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
    return kv;
  }
  if (status != NATS_OK) throw_js_error(what, status, code, timeout);
  std::unique_ptr<jsStreamInfo, decltype(&jsStreamInfo_Destroy)> info(si, &jsStreamInfo_Destroy);
  jsStreamConfig& sc = *si->Config;
  if (sc.Storage != storage)
    throw JetStreamError(what + ": the bucket exists with another storage type (delete it to change that)", 0);
  jsStreamConfig wanted = sc;
  apply_kv_limits(config, wanted);
  if (wanted.MaxMsgsPerSubject != sc.MaxMsgsPerSubject || wanted.MaxAge != sc.MaxAge ||
      wanted.MaxMsgSize != sc.MaxMsgSize || wanted.MaxBytes != sc.MaxBytes) {
    jsStreamInfo* updated = nullptr;
    status = js_UpdateStream(&updated, js, &wanted, nullptr, &code);
    jsStreamInfo_Destroy(updated);
    if (status != NATS_OK) throw_js_error(what + " (updating the bucket)", status, code, timeout);
  }
  status = js_KeyValue(&kv, js, config.bucket.c_str());
  if (status != NATS_OK) throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
  return kv;
}

// The bucket's kvStore on the connection `context` retains, bound again after a replacement.
kvStore* current_store(KvStoreCache& cache, const JsContext& context, const std::string& bucket,
                       const std::string& what, std::chrono::milliseconds timeout) {
  if (cache.kv != nullptr && cache.nc == context.nc) return cache.kv;
  kvStore_Destroy(std::exchange(cache.kv, nullptr));
  kvStore* kv = nullptr;
  if (natsStatus status = js_KeyValue(&kv, context.js, bucket.c_str()); status != NATS_OK)
    throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
  cache.kv = kv;
  cache.nc = context.nc;
  return kv;
}

}  // namespace

}  // namespace detail

KvBucket::KvBucket(Private, std::shared_ptr<Client> client, KvConfig config, std::chrono::milliseconds timeout,
                   std::shared_ptr<detail::KvStoreCache> store)
    : client_(std::move(client)), config_(std::move(config)), timeout_(timeout), store_(std::move(store)) {}

KvBucket::~KvBucket() = default;

std::size_t KvBucket::max_value_size() const {
  std::size_t limit = client_->max_payload();
  if (config_.max_value_size > 0) limit = std::min(limit, static_cast<std::size_t>(config_.max_value_size));
  return limit;
}

asio::awaitable<std::uint64_t> KvBucket::put(std::string_view key, BytesView value) {
  co_return co_await write(key, value, false);
}

asio::awaitable<std::uint64_t> KvBucket::create(std::string_view key, BytesView value) {
  co_return co_await write(key, value, true);
}

asio::awaitable<std::uint64_t> KvBucket::write(std::string_view key_in, BytesView value_in, bool only_if_absent) {
  auto self = shared_from_this();
  std::string key(key_in);
  std::string what = "KV bucket " + config_.bucket + ", key " + key + (only_if_absent ? " (create)" : " (put)");
  if (config_.max_value_size > 0 && value_in.size() > static_cast<std::size_t>(config_.max_value_size)) {
    throw JetStreamError(what + ": " + std::to_string(value_in.size()) +
                             " bytes exceed the bucket's max_value_size of " + std::to_string(config_.max_value_size),
                         0);
  }
  // A create carries the expected last sequence in a header.
  Headers expectation;
  if (only_if_absent) {
    expectation.emplace_back("Nats-Expected-Last-Subject-Sequence",
                             std::to_string(std::numeric_limits<std::uint64_t>::max()));
  }
  detail::check_message_size(what, value_in.size(), detail::header_block_size(expectation, {}), client_->max_payload());
  auto value = std::make_shared<const Bytes>(value_in.begin(), value_in.end());
  std::function<std::uint64_t()> job = [context = js_context(*client_, timeout_, what), store = store_,
                                        bucket = config_.bucket, key, value, only_if_absent, what,
                                        timeout = timeout_] {
    kvStore* kv = detail::current_store(*store, *context, bucket, what, timeout);
    const void* bytes = value->empty() ? nullptr : value->data();
    auto size = static_cast<int>(value->size());
    std::uint64_t revision = 0;
    natsStatus status = only_if_absent ? kvStore_Create(&revision, kv, key.c_str(), bytes, size)
                                       : kvStore_Put(&revision, kv, key.c_str(), bytes, size);
    if (status == NATS_OK) return revision;
    if (only_if_absent && status == NATS_ERR) {
      // Refused: the key holds a value, or something else went wrong. nats.c does not pass the
      // server's error code on, so ask.
      std::string why = detail::error_text(status);
      kvEntry* entry = nullptr;
      if (kvStore_Get(&entry, kv, key.c_str()) == NATS_OK) {
        auto existing = kvEntry_Revision(entry);
        kvEntry_Destroy(entry);
        throw KvKeyExists(what + ": the key exists (revision " + std::to_string(existing) + ")",
                          JSStreamWrongLastSequenceErr);
      }
      throw JetStreamError(what + ": " + why, 0);
    }
    throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<std::optional<KvEntry>> KvBucket::get(std::string_view key_in) {
  auto self = shared_from_this();
  std::string key(key_in);
  std::string what = "KV bucket " + config_.bucket + ", key " + key + " (get)";
  std::function<std::optional<KvEntry>()> job = [context = js_context(*client_, timeout_, what), store = store_,
                                                 bucket = config_.bucket, key, what, timeout = timeout_] {
    kvStore* kv = detail::current_store(*store, *context, bucket, what, timeout);
    kvEntry* entry = nullptr;
    natsStatus status = kvStore_Get(&entry, kv, key.c_str());
    if (status == NATS_NOT_FOUND) return std::optional<KvEntry>();  // never written, deleted or expired
    if (status != NATS_OK) throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
    std::optional<KvEntry> out(std::in_place);
    const auto* bytes = static_cast<const std::uint8_t*>(kvEntry_Value(entry));
    if (bytes != nullptr) out->value.assign(bytes, bytes + kvEntry_ValueLen(entry));
    out->revision = kvEntry_Revision(entry);
    out->created = detail::time_from_nanos(kvEntry_Created(entry));
    kvEntry_Destroy(entry);
    return out;
  };
  co_return co_await call_off_executor(*client_, std::move(job));
}

asio::awaitable<void> KvBucket::remove(std::string_view key_in) {
  auto self = shared_from_this();
  std::string key(key_in);
  std::string what = "KV bucket " + config_.bucket + ", key " + key + " (delete)";
  std::function<void()> job = [context = js_context(*client_, timeout_, what), store = store_,
                               bucket = config_.bucket, key, what, timeout = timeout_] {
    kvStore* kv = detail::current_store(*store, *context, bucket, what, timeout);
    if (natsStatus status = kvStore_Delete(kv, key.c_str()); status != NATS_OK)
      throw_js_error(what, status, static_cast<jsErrCode>(0), timeout);
  };
  co_await detail::run_off_executor(*client_, std::move(job));
}

// --- JetStream's bucket calls ---

asio::awaitable<std::shared_ptr<KvBucket>> JetStream::key_value(const KvConfig& config_in) {
  auto self = shared_from_this();
  KvConfig config = config_in;
  std::string what = "KV bucket " + config.bucket;
  detail::check_name(config.bucket, "bucket", what);
  if (config.history < 1 || config.history > 64) throw JetStreamError(what + ": history must be 1..64", 0);
  auto store = std::make_shared<detail::KvStoreCache>();
  std::function<bool()> job = [context = js_context(*client_, options_.timeout, what), store, config, what,
                               timeout = options_.timeout] {
    store->kv = detail::open_bucket(context->js, config, what, timeout);
    store->nc = context->nc;
    return true;
  };
  co_await call_off_executor(*client_, std::move(job));
  co_return std::make_shared<KvBucket>(KvBucket::Private{}, client_, std::move(config), options_.timeout,
                                       std::move(store));
}

asio::awaitable<bool> JetStream::delete_key_value(std::string_view bucket) {
  std::string stream = "KV_" + std::string(bucket);  // a bucket is the stream KV_<bucket>
  co_return co_await delete_stream(stream);
}

}  // namespace stargate::nats
