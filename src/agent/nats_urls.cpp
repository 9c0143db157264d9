#include "agent/nats_urls.hpp"

#include <cstdlib>
#include <string_view>

namespace stargate::agent {

static std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<std::string> resolve_nats_urls(const std::vector<std::string>& given) {
  if (!given.empty()) return given;
  for (const char* name : {"STARGATE_NATS_URL", "NATS_URL"}) {
    if (const char* value = std::getenv(name); value && *value) {
      auto urls = split_list(value);
      if (!urls.empty()) return urls;
    }
  }
  return {"nats://127.0.0.1:4222"};
}

}  // namespace stargate::agent
