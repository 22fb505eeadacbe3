// MetricsCollector: the control thread's side of the request metrics. Merges the epochs the
// workers hand over (metrics.h) into families keyed by label text.
//
// Contract: control thread only. Counts of retired epochs are folded into totals kept here for
// the life of the process, keyed by (service, route) label text, so a route or service that stays
// across a reload keeps counting up from where it was: a counter never goes backwards while its
// series exists. Series of routes the running configuration no longer has are dropped at the next
// scrape (bounded cardinality), as Prometheus expects of a series that disappears.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "observability/metrics.h"
#include "observability/metrics_exposition.h"

namespace portico::observability {

// What the configured `prometheus` plugin instances turn on, OR-ed over every instance.
struct MetricFlags {
  bool enabled = false;  // some instance exists
  bool per_consumer = false;
  bool status_code_metrics = false;
  bool latency_metrics = false;
  bool bandwidth_metrics = false;
  bool upstream_health_metrics = false;
};

class MetricsCollector {
 public:
  // Starts a scrape: forgets the previous scrape's copies of current epochs.
  void begin_scrape();
  // Adds one worker's collect() output.
  void add(std::vector<MetricsEpoch> epochs);
  // Appends the per-request families `flags` turn on. `live` (the running configuration's names,
  // may be null) drops series of routes it no longer has.
  void append_families(const MetricNames* live, const MetricFlags& flags, std::vector<MetricFamily>& out);

 private:
  using RouteKey = std::tuple<std::string, std::string>;                     // service, route
  using RequestKey = std::tuple<uint16_t, ResponseSource, std::string>;       // code, source, consumer
  struct Totals {
    std::map<RequestKey, uint64_t> requests;
    LatencyHistogram request_latency, upstream_latency, gateway_latency;
    std::map<std::string, ByteCounts> bandwidth;  // by consumer label
    void merge(const RouteSeries& s, const MetricNames& names);
    void merge(const Totals& o);
  };
  static void fold(std::map<RouteKey, Totals>& into, const MetricsEpoch& epoch);

  std::map<RouteKey, Totals> retired_;  // kept across scrapes
  std::map<RouteKey, Totals> scrape_;   // current epochs, this scrape
};

}  // namespace portico::observability
