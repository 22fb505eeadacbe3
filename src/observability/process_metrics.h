// Process metrics in the Prometheus client libraries' standard names (process_cpu_seconds_total,
// process_resident_memory_bytes, process_open_fds, process_max_fds, process_start_time_seconds),
// read from /proc.
//
// Contract: control thread, at scrape time (a few small file reads; never on the request path).
// A value that cannot be read (no /proc) leaves its family out.
#pragma once

#include <vector>

#include "observability/metrics_exposition.h"

namespace portico::observability {

void append_process_families(std::vector<MetricFamily>& out);

// The process's resident memory and CPU time as /proc tells them (0 when unreadable); the admin
// API's /status shows them.
struct ProcessSample {
  double resident_bytes = 0;
  double cpu_seconds = 0;
  double start_ticks = 0;  // starttime, in clock ticks since boot
};
bool sample_process(ProcessSample& out);

}  // namespace portico::observability
