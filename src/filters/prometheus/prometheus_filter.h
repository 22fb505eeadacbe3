// PrometheusFilter: Kong's `prometheus` plugin. Records each request's status, latencies and bytes
// into the worker's metrics shard (observability/metrics.h) in the log phase; the admin API's
// `GET /metrics` merges the shards and exports them.
//
// Contract: built by `create()` on the control thread; immutable and shared by all workers.
// on_log runs on a worker thread, never waits and costs a few integer increments: the series is
// found by the route's index in its configuration (no label text, no lock). It records nothing
// where no shard is set for the thread (e.g. sessions finished by the control thread at exit).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "observability/metrics_collector.h"

namespace portico::filters {

class PrometheusFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "prometheus";
  static constexpr int kPriority = 13;  // Kong's PRIORITY

  // Kong's fields and defaults; `enabled` is always true for a built instance.
  using Config = observability::MetricFlags;

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config, const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit PrometheusFilter(Config config) : config_(config) { config_.enabled = true; }

  uint32_t phases() const override { return filter::kOnLog; }
  void on_log(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }

 private:
  Config config_;
};

}  // namespace portico::filters
