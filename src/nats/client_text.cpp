// Words the client puts in exceptions and logs (see client_text.hpp).
#include "nats/client_text.hpp"

#include <algorithm>

namespace stargate::nats::detail {

std::string error_text(natsStatus status) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = (text != nullptr && *text != '\0') ? text : natsStatus_GetText(status);
  if (!out.empty() && out.front() == '(') {
    if (auto end = out.find("): "); end != std::string::npos && end < 64) out.erase(0, end + 3);
  }
  return out;
}

std::string redact(const std::string& url) {
  auto scheme = url.find("://");
  auto start = scheme == std::string::npos ? 0 : scheme + 3;
  auto at = url.find('@', start);
  if (at == std::string::npos) return url;
  auto userinfo = url.substr(start, at - start);
  auto colon = userinfo.find(':');
  std::string hidden = colon == std::string::npos ? "***" : userinfo.substr(0, colon) + ":***";
  return url.substr(0, start) + hidden + url.substr(at);
}

std::string describe(const std::vector<std::string>& urls) {
  std::string out;
  for (const auto& url : urls) {
    if (!out.empty()) out += ", ";
    out += redact(url);
  }
  return out;
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace stargate::nats::detail
