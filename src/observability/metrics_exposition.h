// Metric families and their text exposition: the Prometheus text format 0.0.4 and OpenMetrics 1.0.
//
// Contract: pure functions over values; used on the control thread at scrape time (never on the
// request path). Families are written in the order given; a family's HELP and TYPE lines appear
// once, followed by its samples in the order given.
//
// Names: a family is named as in the Prometheus text format, counters with their `_total` when
// they have one (`portico_http_requests_total`). In OpenMetrics a counter family is declared
// without `_total` and every counter sample carries it, as the specification requires: the
// counter `portico_bandwidth_bytes` is exposed as `portico_bandwidth_bytes_total` samples there.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::observability {

enum class MetricType { kCounter, kGauge, kHistogram };

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string suffix;  // "" for counters and gauges; "_bucket", "_sum" or "_count" in histograms
  Labels labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<Sample> samples;

  void add(Labels labels, double value) { samples.push_back(Sample{{}, std::move(labels), value}); }
};

enum class ExpositionFormat { kPrometheusText, kOpenMetrics };

inline constexpr std::string_view kPrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// The format an `Accept` header asks for: OpenMetrics when it names application/openmetrics-text
// (with no version, or version 1.0.0) at a q-value not below text/plain's; else the text format.
ExpositionFormat negotiate_format(std::string_view accept);

// Appends `value` escaped for a label value: backslash, double quote and line feed.
void append_escaped_label_value(std::string& out, std::string_view value);

// Appends every family in `format`; OpenMetrics output ends with "# EOF".
void write_exposition(const std::vector<MetricFamily>& families, ExpositionFormat format, std::string& out);

}  // namespace portico::observability
