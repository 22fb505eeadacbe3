// Text exposition: escaping, HELP/TYPE once per family, `_total` handling, format negotiation.
#include "observability/metrics_exposition.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::observability {
namespace {

std::vector<MetricFamily> sample_families() {
  std::vector<MetricFamily> fs;
  MetricFamily c{"x_requests_total", "Requests\nby \"route\" \\ code", MetricType::kCounter, {}};
  c.add({{"route", "a\"b\\c\nd"}, {"code", "200"}}, 3);
  c.add({{"route", "plain"}, {"code", "404"}}, 1);
  fs.push_back(std::move(c));
  MetricFamily b{"x_bytes", "Bytes", MetricType::kCounter, {}};
  b.add({{"direction", "egress"}}, 12345678901.0);
  fs.push_back(std::move(b));
  MetricFamily g{"x_temperature", "A gauge", MetricType::kGauge, {}};
  g.add({}, 0.25);
  fs.push_back(std::move(g));
  MetricFamily h{"x_latency_ms", "A histogram", MetricType::kHistogram, {}};
  h.samples.push_back(Sample{"_bucket", {{"le", "1.0"}}, 1});
  h.samples.push_back(Sample{"_bucket", {{"le", "+Inf"}}, 2});
  h.samples.push_back(Sample{"_sum", {}, 7.5});
  h.samples.push_back(Sample{"_count", {}, 2});
  fs.push_back(std::move(h));
  return fs;
}

TEST(MetricsExposition, EscapesLabelValues) {
  std::string out;
  append_escaped_label_value(out, "a\"b\\c\nd");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd");
}

TEST(MetricsExposition, PrometheusText) {
  std::string out;
  write_exposition(sample_families(), ExpositionFormat::kPrometheusText, out);
  EXPECT_EQ(out,
            "# HELP x_requests_total Requests\\nby \"route\" \\\\ code\n"
            "# TYPE x_requests_total counter\n"
            "x_requests_total{route=\"a\\\"b\\\\c\\nd\",code=\"200\"} 3\n"
            "x_requests_total{route=\"plain\",code=\"404\"} 1\n"
            "# HELP x_bytes Bytes\n"
            "# TYPE x_bytes counter\n"
            "x_bytes{direction=\"egress\"} 12345678901\n"
            "# HELP x_temperature A gauge\n"
            "# TYPE x_temperature gauge\n"
            "x_temperature 0.25\n"
            "# HELP x_latency_ms A histogram\n"
            "# TYPE x_latency_ms histogram\n"
            "x_latency_ms_bucket{le=\"1.0\"} 1\n"
            "x_latency_ms_bucket{le=\"+Inf\"} 2\n"
            "x_latency_ms_sum 7.5\n"
            "x_latency_ms_count 2\n");
}

TEST(MetricsExposition, OpenMetricsTotalsAndEof) {
  std::string out;
  write_exposition(sample_families(), ExpositionFormat::kOpenMetrics, out);
  // Counter families are declared without _total; every counter sample carries it.
  EXPECT_NE(out.find("# TYPE x_requests counter\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# HELP x_requests Requests\\nby \\\"route\\\" \\\\ code\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nx_requests_total{route=\"plain\",code=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE x_bytes counter\n"), std::string::npos);
  EXPECT_NE(out.find("\nx_bytes_total{direction=\"egress\"} 12345678901\n"), std::string::npos);
  EXPECT_NE(out.find("# TYPE x_temperature gauge\nx_temperature 0.25\n"), std::string::npos);
  EXPECT_NE(out.find("x_latency_ms_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("x_latency_ms_count 2\n# EOF\n")) << out;
}

TEST(MetricsExposition, NegotiatesTheFormat) {
  EXPECT_EQ(negotiate_format(""), ExpositionFormat::kPrometheusText);
  EXPECT_EQ(negotiate_format("*/*"), ExpositionFormat::kPrometheusText);
  EXPECT_EQ(negotiate_format("text/plain; version=0.0.4"), ExpositionFormat::kPrometheusText);
  EXPECT_EQ(negotiate_format("application/openmetrics-text"), ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(negotiate_format("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ExpositionFormat::kOpenMetrics);
  // What Prometheus sends.
  EXPECT_EQ(negotiate_format("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(negotiate_format("application/openmetrics-text; version=0.0.1"), ExpositionFormat::kPrometheusText);
  EXPECT_EQ(negotiate_format("text/plain, application/openmetrics-text;q=0.5"), ExpositionFormat::kPrometheusText);
  EXPECT_EQ(negotiate_format("application/openmetrics-text;q=0"), ExpositionFormat::kPrometheusText);
}

}  // namespace
}  // namespace portico::observability
