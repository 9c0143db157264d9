#pragma once
// The resource manager's usage for operators (docs/limits.md, "Resource manager"): in the status
// (API, control socket, `stargate status`) and as Prometheus families, for agents and relays alike.
#include "metrics/collector.hpp"
#include "p2p/host/resource_manager.hpp"
#include "stargate/node.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace stargate::agent {

NodeStatus::Resources to_status(const p2p::ResourceUsage& usage);
boost::json::object to_json(const NodeStatus::Resources& resources);
// stargate_resource_used / _limit {scope, name, resource} and stargate_resource_refusals_total
// {scope, resource}.
void collect_resource_metrics(metrics::Collection& out, const NodeStatus::Resources& resources);
// The status JSON's "resources" object as a table, one scope per line: "used/limit" per resource.
std::string format_resources(const boost::json::object& resources);

}  // namespace stargate::agent
