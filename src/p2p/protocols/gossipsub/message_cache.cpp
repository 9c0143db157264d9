#include "p2p/protocols/gossipsub/message_cache.hpp"

#include <algorithm>

namespace stargate::p2p::gossipsub {

MessageCache::MessageCache(std::size_t history_length, std::size_t gossip_windows, std::size_t max_transmissions)
    : gossip_windows_(std::min(gossip_windows, history_length)),
      max_transmissions_(max_transmissions),
      windows_(std::max<std::size_t>(history_length, 1)) {}

void MessageCache::put(const MessageId& id, Message message) {
  if (!messages_.emplace(id, Entry{std::move(message), {}}).second) return;
  windows_.front().push_back(id);
}

const Message* MessageCache::serve(const MessageId& id, const crypto::PeerId& peer) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return nullptr;
  auto& count = it->second.transmissions[peer];
  if (count >= max_transmissions_) return nullptr;
  ++count;
  return &it->second.message;
}

std::vector<MessageId> MessageCache::gossip_ids(const std::string& topic) const {
  std::vector<MessageId> out;
  for (std::size_t w = 0; w < gossip_windows_ && w < windows_.size(); ++w) {
    for (const auto& id : windows_[w]) {
      auto it = messages_.find(id);
      if (it != messages_.end() && it->second.message.topic == topic) out.push_back(id);
    }
  }
  return out;
}

std::vector<std::string> MessageCache::gossip_topics() const {
  std::vector<std::string> out;
  for (std::size_t w = 0; w < gossip_windows_ && w < windows_.size(); ++w) {
    for (const auto& id : windows_[w]) {
      auto it = messages_.find(id);
      if (it == messages_.end()) continue;
      const auto& topic = it->second.message.topic;
      if (std::find(out.begin(), out.end(), topic) == out.end()) out.push_back(topic);
    }
  }
  return out;
}

void MessageCache::shift() {
  for (const auto& id : windows_.back()) messages_.erase(id);
  windows_.pop_back();
  windows_.emplace_front();
}

}  // namespace stargate::p2p::gossipsub
