#pragma once
// Which brokers a node uses: the URLs it was given, else $STARGATE_NATS_URL, else $NATS_URL,
// else nats://127.0.0.1:4222. Environment values may list several, comma-separated (a cluster).
#include <string>
#include <vector>

namespace stargate::agent {

std::vector<std::string> resolve_nats_urls(const std::vector<std::string>& given);

}  // namespace stargate::agent
