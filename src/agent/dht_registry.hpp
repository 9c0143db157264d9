#pragma once
// What Stargate keeps in the Kademlia DHT (docs/dht.md): the capability registry (one provider
// record per capability an agent offers, under the sha2-256 multihash of
// "stargate/capability/<name>"), the relays (providers of "stargate/relay"), and each agent's
// signed announcement as a value record under "/stargate/<agent_id>", validated like one received
// over NATS except that it stays valid until its TTL lapses.
#include "agent/announcement.hpp"
#include "p2p/protocols/kad/records.hpp"

#include <string_view>

namespace stargate::agent {

inline constexpr std::string_view kDhtNamespace = "stargate";
inline constexpr std::string_view kRelayProviderName = "stargate/relay";
// How long the announcement stored in the DHT stays valid (the policy's longest TTL).
inline constexpr std::chrono::seconds kDhtAnnouncementTtl{3600};

// The sha2-256 multihash of `name`: the form of provider keys js-libp2p servers decode (CIDs).
Bytes provider_key(std::string_view name);
Bytes capability_key(std::string_view capability);
Bytes announcement_record_key(std::string_view agent_id);
// The policy DHT records are checked with: live-announcement rules, but any age within the TTL.
AnnouncementPolicy stored_announcement_policy();
// Validates "/stargate/<agent_id>" records (a signed announcement of that agent) and prefers the
// newest. `now` gives the wall clock in Unix milliseconds.
p2p::kad::RecordValidator announcement_validator(std::function<UnixMillis()> now);

}  // namespace stargate::agent
