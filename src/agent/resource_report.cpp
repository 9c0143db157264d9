#include "agent/resource_report.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <sstream>

namespace stargate::agent {
namespace json = boost::json;

NodeStatus::Resources to_status(const p2p::ResourceUsage& usage) {
  NodeStatus::Resources out;
  out.peers = usage.peers;
  out.refused = usage.refusals;
  for (const auto& scope : usage.scopes) {
    for (const auto& gauge : scope.gauges) {
      std::optional<std::size_t> limit;
      if (gauge.limit != p2p::kUnlimited) limit = gauge.limit;
      out.gauges.push_back({scope.scope, scope.name, gauge.resource, gauge.used, limit});
    }
  }
  return out;
}

json::object to_json(const NodeStatus::Resources& resources) {
  // One entry per scope, in the manager's order: {"scope", "name", "<resource>": {used, limit}}.
  json::array scopes;
  for (const auto& gauge : resources.gauges) {
    if (scopes.empty() || scopes.back().as_object().at("scope") != gauge.scope.c_str() ||
        scopes.back().as_object().at("name") != gauge.name.c_str()) {
      scopes.push_back(json::object{{"scope", gauge.scope}, {"name", gauge.name}});
    }
    json::object value{{"used", gauge.used}};
    value["limit"] = gauge.limit ? json::value(*gauge.limit) : json::value(nullptr);
    scopes.back().as_object()[gauge.resource] = std::move(value);
  }
  json::object refused;
  for (const auto& [key, n] : resources.refused) refused[key] = n;
  return json::object{{"peers", resources.peers}, {"scopes", std::move(scopes)}, {"refused", std::move(refused)}};
}

void collect_resource_metrics(metrics::Collection& out, const NodeStatus::Resources& resources) {
  auto used = out.gauge("stargate_resource_used", "Resource manager usage, by scope (busiest peer/ip/connection)",
                        {"scope", "name", "resource"});
  auto limits = out.gauge("stargate_resource_limit", "Resource manager limits (absent: unlimited)",
                          {"scope", "name", "resource"});
  for (const auto& gauge : resources.gauges) {
    used.add({gauge.scope, gauge.name, gauge.resource}, static_cast<double>(gauge.used));
    if (gauge.limit) limits.add({gauge.scope, gauge.name, gauge.resource}, static_cast<double>(*gauge.limit));
  }
  auto refused = out.counter("stargate_resource_refusals", "Work the resource manager refused, by scope and resource",
                             {"scope", "resource"});
  for (const auto& [key, n] : resources.refused) {
    auto space = key.find(' ');
    refused.add({key.substr(0, space), space == std::string::npos ? "" : key.substr(space + 1)}, static_cast<double>(n));
  }
}

namespace {

std::string amount(const std::string& resource, const json::value& v) {
  if (v.is_null()) return "unlimited";
  auto n = v.to_number<double>();
  if (resource != "memory") return std::to_string(static_cast<std::uint64_t>(n));
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (n >= 1024 && unit < 4) {
    n /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", n, units[unit]);
  return text;
}

}  // namespace

std::string format_resources(const json::object& resources) {
  std::ostringstream out;
  out << "resources (used/limit):\n";
  if (auto* scopes = resources.if_contains("scopes"); scopes && scopes->is_array()) {
    for (const auto& entry : scopes->as_array()) {
      const auto& scope = entry.as_object();
      std::string label = std::string(scope.at("scope").as_string());
      if (auto name = std::string(scope.at("name").as_string()); !name.empty()) label += " " + name;
      out << "  " << label;
      for (const auto& [key, value] : scope) {
        if (key == "scope" || key == "name" || !value.is_object()) continue;
        const std::string resource(key);
        out << "  " << resource << " " << amount(resource, value.at("used")) << "/" << amount(resource, value.at("limit"));
      }
      out << "\n";
    }
  }
  if (auto* refused = resources.if_contains("refused"); refused && refused->is_object() && !refused->as_object().empty()) {
    out << "  refused:";
    for (const auto& [key, n] : refused->as_object()) out << " " << std::string(key) << " " << json::serialize(n) << ";";
    out << "\n";
  }
  return out.str();
}

}  // namespace stargate::agent
