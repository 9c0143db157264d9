#pragma once
// At most once per request: the callee remembers each request it ran, by (caller, request ID),
// whatever transport carried it, so that a retry (the same request over another tier, or again
// after a lost response) gets the first run's response instead of a second run. A retry that
// comes while the first run is still going is told so and waits for it. Sans-IO: the caller of
// this class does the waiting; time is passed in.
//
// Responses are kept as shared, immutable strings: the one the handler's run serialized is the
// one sent (sealed straight from it) and the one kept, without a copy of a large payload.
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace stargate::agent {

struct ResultCacheLimits {
  std::size_t max_entries = 10'000;
  // Longer than any call's deadline, so a retry within it always finds the first run.
  std::chrono::milliseconds retention = std::chrono::minutes(15);
  // Bytes of responses kept: beyond it the oldest entries go first, as beyond max_entries (10'000
  // responses of up to 10 MB each would otherwise be unbounded in practice: 100 GB). The newest
  // response is always kept, whatever its size. 64 MiB holds a thousand 64 KiB responses, or the
  // last six of the largest.
  std::size_t max_bytes = 64 * 1024 * 1024;
};

class ResultCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Response = std::shared_ptr<const std::string>;
  enum class State { fresh, running, done };

  explicit ResultCache(ResultCacheLimits limits = {}) : limits_(limits) {}

  static std::string key(std::string_view caller, std::string_view request_id);

  // fresh: nobody ran this request yet, and it is now marked running (the caller runs it, then
  // calls finish()); running: another run is under way; done: response() has its answer.
  State begin(const std::string& key, TimePoint now);
  void finish(const std::string& key, std::string response);
  void finish(const std::string& key, Response response);
  // A run that ended without a response to keep (the node stopped): the next retry runs again.
  void abandon(const std::string& key);
  State state(const std::string& key) const;
  const std::string* response(const std::string& key) const;
  Response shared_response(const std::string& key) const;

  std::size_t size() const { return entries_.size(); }
  std::size_t evicted() const { return evicted_; }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    TimePoint started;
    Response response;  // null while running
  };
  void expire(TimePoint now);
  void erase(std::unordered_map<std::string, Entry>::iterator it);
  // Drops the oldest entries while over max_bytes, stopping at `keep`.
  void shrink_to_budget(const std::string& keep);

  ResultCacheLimits limits_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::pair<TimePoint, std::string>> order_;  // by start, for expiry and eviction
  std::size_t evicted_ = 0;
  std::size_t bytes_ = 0;  // of the responses held
};

}  // namespace stargate::agent
