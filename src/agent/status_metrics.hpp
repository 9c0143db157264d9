#pragma once
// The status model as Prometheus families (docs/metrics.md): what the status says, exported at
// each scrape, so nothing is counted twice and the two views cannot disagree.
#include "metrics/collector.hpp"
#include "stargate/node.hpp"

namespace stargate::agent {

void collect_status(metrics::Collection& out, const NodeStatus& status);
// The DHT's share (stargate_dht_*), for agents and relays alike.
void collect_dht_metrics(metrics::Collection& out, const NodeStatus::Dht& dht);

}  // namespace stargate::agent
