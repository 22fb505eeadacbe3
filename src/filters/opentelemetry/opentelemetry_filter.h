// OpenTelemetryFilter: Kong's `opentelemetry` plugin. Continues or starts a W3C trace for every
// request, propagates it upstream (`traceparent`, and `tracestate` when valid) and, for sampled
// requests, exports the gateway's spans over OTLP/HTTP to `traces_endpoint`.
//
// Contract: built by `create()` on the control thread; immutable and shared by every worker. It
// holds the exporter for its settings (observability::SpanExporter::shared), so instances with the
// same settings, and the same instance across reloads, share one exporter thread and queue.
// Hooks never wait: on_request fills exchange.trace and sets the upstream headers; on_response
// adds the trace-id response header when configured; on_log builds the spans (span_builder.h) and
// hands them to the exporter's bounded queue without blocking.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_error.h"
#include "core/config_node.h"
#include "filter/filter.h"
#include "observability/span_exporter.h"

namespace portico::filters {

class OpenTelemetryFilter final : public filter::Filter {
 public:
  static constexpr std::string_view kName = "opentelemetry";
  static constexpr int kPriority = 14;  // Kong's PRIORITY

  struct Config {
    observability::ExporterSettings exporter;
    double sampling_rate = 1.0;
    bool extract_w3c = true;  // propagation.extract lists w3c (the default)
    bool inject_w3c = true;   // propagation.inject lists w3c or preserve (the default)
    std::vector<std::string> clear;  // propagation.clear
    std::string response_header_for_trace_id;  // http_response_header_for_traceid
  };

  static std::shared_ptr<const filter::Filter> create(const core::ConfigNode* config,
                                                      const std::string& path,
                                                      core::ConfigErrors& errors);

  explicit OpenTelemetryFilter(Config config);

  uint32_t phases() const override {
    return filter::kOnRequest | filter::kOnLog |
           (config_.response_header_for_trace_id.empty() ? 0u : uint32_t{filter::kOnResponse});
  }
  filter::Step on_request(filter::Exchange& exchange) const override;
  filter::Step on_response(filter::Exchange& exchange) const override;
  void on_log(filter::Exchange& exchange) const override;

  const Config& config() const { return config_; }
  const std::shared_ptr<observability::SpanExporter>& exporter() const { return exporter_; }

 private:
  Config config_;
  uint64_t threshold_;
  std::shared_ptr<observability::SpanExporter> exporter_;
};

}  // namespace portico::filters
