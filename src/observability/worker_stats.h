// WorkerStats: one worker's shard of the gateway's counters.
//
// Contract: written only by the owning worker (single-writer counters: no locked instruction on
// the request path), read by the control thread, which sums the shards when the admin API asks.
#pragma once

#include "core/counter.h"

namespace portico::observability {

struct WorkerStats {
  core::Counter connections_accepted;
  core::Gauge connections_active;
  core::Gauge connections_reading;   // a request head has started arriving but is not complete
  core::Gauge connections_writing;   // a request is being processed
  core::Counter requests_total;
  core::Counter responses[6];        // by status class: [1]=1xx ... [5]=5xx; [0]=no response
  core::Counter bad_requests;        // rejected by the codec (400/413/414/431/505)
  core::Counter no_route;
  core::Counter local_replies;       // answered by a filter
  core::Counter upstream_requests;   // attempts sent upstream
  core::Counter upstream_connect_failures;
  core::Counter upstream_timeouts;
  core::Counter upstream_bad_responses;
  core::Counter upstream_retries;
  core::Counter upstream_reused;     // requests sent on a pooled connection
  // Circuit-breaker trips by limit, in upstream::CircuitBreaker::Resource order: max_connections,
  // max_pending_requests, max_requests (each answered 503), max_retries (a retry not made,
  // retry budgets included).
  core::Counter circuit_breaker_trips[4];
  core::Counter bytes_received;
  core::Counter bytes_sent;
  core::Counter access_log_dropped;
  core::Counter accept_paused;       // times the worker stopped accepting at limits.max_connections
  core::Counter overload_rejected;   // requests answered 503 at limits.max_concurrent_requests

  void count_response(int status) {
    int cls = status / 100;
    responses[(cls >= 1 && cls <= 5) ? cls : 0].add();
  }
};

}  // namespace portico::observability
