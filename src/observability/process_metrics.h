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

}  // namespace portico::observability
