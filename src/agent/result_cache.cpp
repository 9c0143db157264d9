#include "agent/result_cache.hpp"

namespace stargate::agent {

std::string ResultCache::key(std::string_view caller, std::string_view request_id) {
  std::string out;
  out.reserve(caller.size() + 1 + request_id.size());
  out.append(caller).push_back('\n');  // agent IDs are hex: no newline in them
  out.append(request_id);
  return out;
}

void ResultCache::erase(std::unordered_map<std::string, Entry>::iterator it) {
  if (it->second.response) bytes_ -= it->second.response->size();
  entries_.erase(it);
}

ResultCache::State ResultCache::begin(const std::string& key, TimePoint now) {
  expire(now);
  if (auto it = entries_.find(key); it != entries_.end()) return it->second.response ? State::done : State::running;
  // Full: the oldest entries go first (done or not; a running one that goes is simply no longer
  // joinable, and at this bound the node is under a flood anyway).
  while (entries_.size() >= limits_.max_entries && !order_.empty()) {
    auto it = entries_.find(order_.front().second);
    if (it != entries_.end() && it->second.started == order_.front().first) {
      erase(it);
      ++evicted_;
    }
    order_.pop_front();
  }
  entries_.emplace(key, Entry{now, nullptr});
  order_.emplace_back(now, key);
  return State::fresh;
}

void ResultCache::finish(const std::string& key, std::string response) {
  finish(key, std::make_shared<const std::string>(std::move(response)));
}

void ResultCache::finish(const std::string& key, Response response) {
  auto it = entries_.find(key);
  if (it == entries_.end() || !response) return;
  if (it->second.response) bytes_ -= it->second.response->size();
  bytes_ += response->size();
  it->second.response = std::move(response);
  shrink_to_budget(key);
}

void ResultCache::shrink_to_budget(const std::string& keep) {
  while (bytes_ > limits_.max_bytes && !order_.empty()) {
    // The response just finished is kept, whatever its size; when its run is the oldest left
    // (a slow handler), the budget waits for the next eviction.
    if (order_.front().second == keep) return;
    auto it = entries_.find(order_.front().second);
    if (it != entries_.end() && it->second.started == order_.front().first) {
      erase(it);
      ++evicted_;
    }
    order_.pop_front();
  }
}

void ResultCache::abandon(const std::string& key) {
  if (auto it = entries_.find(key); it != entries_.end() && !it->second.response) entries_.erase(it);
}

ResultCache::State ResultCache::state(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return State::fresh;
  return it->second.response ? State::done : State::running;
}

const std::string* ResultCache::response(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.response ? it->second.response.get() : nullptr;
}

ResultCache::Response ResultCache::shared_response(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() ? it->second.response : nullptr;
}

void ResultCache::expire(TimePoint now) {
  while (!order_.empty() && now - order_.front().first > limits_.retention) {
    auto it = entries_.find(order_.front().second);
    // An entry erased earlier (abandon) and begun again has a later start: keep that one.
    if (it != entries_.end() && it->second.started == order_.front().first) erase(it);
    order_.pop_front();
  }
}

}  // namespace stargate::agent
