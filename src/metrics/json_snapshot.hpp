#pragma once
// The same numbers as the text exposition, as JSON (for get_metrics() in the C++ API and
// `stargate status --json`). Keys are the exposed names, in the exposition's order:
//
//   {"stargate_calls_total": {"type": "counter", "help": "...", "labels": ["tier", "outcome"],
//                             "samples": [{"labels": {"tier": "nats", "outcome": "ok"}, "value": 3}]},
//    "stargate_call_duration_seconds": {"type": "histogram", ..., "samples": [{"labels": {...},
//        "buckets": {"0.0001": 0, ..., "+Inf": 3}, "sum": 0.012, "count": 3}]}}
//
// Whole numbers are JSON integers; NaN and infinities, which JSON lacks, are the strings
// "NaN", "+Inf", "-Inf".
#include "metrics/registry.hpp"
#include "metrics/snapshot.hpp"

#include <boost/json/value.hpp>

namespace stargate::metrics {

boost::json::value to_json(const Snapshot& snapshot);
inline boost::json::value to_json(const Registry& registry) { return to_json(registry.snapshot()); }

}  // namespace stargate::metrics
