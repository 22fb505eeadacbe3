// What `GET /metrics` needs from the running process: the label names and plugin flags of a
// snapshot, and the process-wide families (connections, requests, upstream errors, retries,
// circuit breakers, health changes, config versions, upstream target health).
//
// Contract: control thread only. Reads the workers' WorkerStats (single-writer counters, safe to
// read from any thread) and immutable snapshots; never a worker's metrics shard (those come back
// by post(), see server.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/snapshot.h"
#include "observability/metrics.h"
#include "observability/metrics_collector.h"
#include "observability/metrics_exposition.h"
#include "observability/worker_stats.h"

namespace portico::server {

// Label values by index for the snapshot's configuration (routes: name, else id; services: name,
// else id; consumers: username, else custom_id, else id).
std::shared_ptr<const observability::MetricNames> metric_names(const config::Snapshot& snapshot);

// The flags of every `prometheus` instance the snapshot runs, OR-ed; `enabled` false when none.
observability::MetricFlags metric_flags(const config::Snapshot& snapshot);

struct WorkerView {
  int index = 0;
  const observability::WorkerStats* stats = nullptr;
  std::string config_version;
};

struct GatewayView {
  std::vector<WorkerView> workers;
  std::string config_version;
  uint64_t config_reloads = 0;
  uint64_t config_reload_failures = 0;
  uint64_t health_state_changes = 0;
};

// The families exported whether or not a plugin is configured.
void append_gateway_families(const GatewayView& view, std::vector<observability::MetricFamily>& out);

// portico_upstream_target_health: one series per state of each target address, 1 for the current.
void append_upstream_health_family(const config::Snapshot& snapshot, std::vector<observability::MetricFamily>& out);

}  // namespace portico::server
