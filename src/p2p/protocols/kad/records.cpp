#include "p2p/protocols/kad/records.hpp"

#include "crypto/peer_id.hpp"

#include <string_view>

namespace stargate::p2p::kad {
namespace {

constexpr std::string_view kPkPrefix = "/pk/";

// "/ns/rest" -> "ns"; empty when the key has no namespace.
std::string_view namespace_of(BytesView key) {
  std::string_view text(reinterpret_cast<const char*>(key.data()), key.size());
  if (text.size() < 3 || text[0] != '/') return {};
  const auto end = text.find('/', 1);
  if (end == std::string_view::npos || end == 1) return {};
  return text.substr(1, end - 1);
}

RecordValidator public_key_validator() {
  RecordValidator v;
  v.validate = [](BytesView key, BytesView value) -> std::string {
    auto hash = key.subspan(kPkPrefix.size());
    auto id = crypto::PeerId::from_bytes(hash);
    if (!id) return "not a PeerId after /pk/";
    auto public_key = crypto::decode_public_key_proto(value);
    if (!public_key) return public_key.error().message;
    if (!id->matches(*public_key)) return "the public key does not hash to the PeerId in the key";
    return {};
  };
  v.select = [](BytesView, const std::vector<Bytes>&) -> std::size_t { return 0; };  // all valid ones are equal
  return v;
}

}  // namespace

RecordValidators::RecordValidators() { add("pk", public_key_validator()); }

void RecordValidators::add(std::string name_space, RecordValidator validator) {
  validators_[std::move(name_space)] = std::move(validator);
}

const RecordValidator* RecordValidators::find(BytesView key) const {
  auto ns = namespace_of(key);
  auto it = validators_.find(ns);
  return it == validators_.end() ? nullptr : &it->second;
}

std::string RecordValidators::validate(BytesView key, BytesView value) const {
  const auto* v = find(key);
  if (!v) return "no validator for the record's namespace";
  return v->validate(key, value);
}

std::size_t RecordValidators::select(BytesView key, const std::vector<Bytes>& values) const {
  const auto* v = find(key);
  if (!v || values.empty()) return 0;
  auto best = v->select(key, values);
  return best < values.size() ? best : 0;
}

Bytes public_key_record_key(BytesView peer_id_multihash) {
  Bytes key(kPkPrefix.begin(), kPkPrefix.end());
  key.insert(key.end(), peer_id_multihash.begin(), peer_id_multihash.end());
  return key;
}

bool RecordStore::put(const Bytes& key, Bytes value, Time now) {
  if (value.size() > config_.max_value_size) return false;
  auto it = records_.find(key);
  if (it == records_.end() && records_.size() >= config_.max_records) {
    expire(now);
    if (records_.size() >= config_.max_records) return false;
  }
  records_[key] = Stored{std::move(value), now + config_.ttl};
  return true;
}

std::optional<Bytes> RecordStore::get(const Bytes& key, Time now) const {
  auto it = records_.find(key);
  if (it == records_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.value;
}

void RecordStore::expire(Time now) {
  std::erase_if(records_, [&](const auto& kv) { return kv.second.expires <= now; });
}

}  // namespace stargate::p2p::kad
