#include "agent/dht_registry.hpp"

#include "crypto/sha256.hpp"

#include <algorithm>

namespace stargate::agent {

Bytes provider_key(std::string_view name) {
  const auto digest = crypto::sha256(as_bytes(name));
  Bytes key{0x12, 0x20};  // multihash: sha2-256, 32 bytes
  key.insert(key.end(), digest.begin(), digest.end());
  return key;
}

Bytes capability_key(std::string_view capability) {
  return provider_key("stargate/capability/" + std::string(capability));
}

Bytes announcement_record_key(std::string_view agent_id) {
  const std::string key = "/" + std::string(kDhtNamespace) + "/" + std::string(agent_id);
  return Bytes(key.begin(), key.end());
}

AnnouncementPolicy stored_announcement_policy() {
  AnnouncementPolicy policy;
  policy.max_age = std::chrono::duration_cast<std::chrono::milliseconds>(policy.max_ttl);
  return policy;
}

p2p::kad::RecordValidator announcement_validator(std::function<UnixMillis()> now) {
  p2p::kad::RecordValidator validator;
  validator.validate = [now](BytesView key, BytesView value) -> std::string {
    std::string_view wire(reinterpret_cast<const char*>(value.data()), value.size());
    auto announcement = verify_announcement(wire, now(), stored_announcement_policy());
    if (!announcement) return announcement.error().to_string();
    if (announcement->kind != AnnouncementKind::announce) return "a leave message is not stored";
    if (announcement_record_key(announcement->agent_id) != Bytes(key.begin(), key.end()))
      return "the announcement is not the key's agent's";
    return {};
  };
  validator.select = [now](BytesView, const std::vector<Bytes>& values) -> std::size_t {
    std::size_t best = 0;
    UnixMillis newest = -1;
    for (std::size_t i = 0; i < values.size(); ++i) {
      std::string_view wire(reinterpret_cast<const char*>(values[i].data()), values[i].size());
      auto a = verify_announcement(wire, now(), stored_announcement_policy());
      if (a && a->timestamp > newest) {
        newest = a->timestamp;
        best = i;
      }
    }
    return best;
  };
  return validator;
}

}  // namespace stargate::agent
