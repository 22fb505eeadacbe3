#include "filters/prometheus/prometheus_filter.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "observability/metrics.h"
#include "test_support.h"

namespace portico::filters {
namespace {

using testing::load_plugin;

testing::Loaded load(const std::string& config_line) {
  return load_plugin("plugins:\n- name: prometheus\n" + config_line);
}

const PrometheusFilter& as_prometheus(const testing::Loaded& loaded) {
  return static_cast<const PrometheusFilter&>(*loaded.filter);
}

TEST(PrometheusConfig, KongDefaultsAreAllOff) {
  for (const char* text : {"", "  config: {}\n", "  config: null\n"}) {
    auto loaded = load(text);
    ASSERT_TRUE(loaded.filter) << loaded.error_text();
    EXPECT_EQ(loaded.priority, 13);
    EXPECT_EQ(loaded.filter->phases(), filter::kOnLog);
    const auto& c = as_prometheus(loaded).config();
    EXPECT_TRUE(c.enabled);
    EXPECT_FALSE(c.per_consumer);
    EXPECT_FALSE(c.status_code_metrics);
    EXPECT_FALSE(c.latency_metrics);
    EXPECT_FALSE(c.bandwidth_metrics);
    EXPECT_FALSE(c.upstream_health_metrics);
  }
}

TEST(PrometheusConfig, EveryField) {
  auto loaded = load(
      "  config: {per_consumer: true, status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, "
      "upstream_health_metrics: true}\n");
  ASSERT_TRUE(loaded.filter) << loaded.error_text();
  const auto& c = as_prometheus(loaded).config();
  EXPECT_TRUE(c.per_consumer && c.status_code_metrics && c.latency_metrics && c.bandwidth_metrics &&
              c.upstream_health_metrics);
}

TEST(PrometheusConfig, ErrorsCarryTheirPosition) {
  auto loaded = load("  config:\n    latency_metrics: 1\n    ai_metrics: true\n");
  EXPECT_FALSE(loaded.filter);
  const std::string text = loaded.error_text();
  EXPECT_NE(text.find("kong.yaml:4:22: plugins[0].config.latency_metrics"), std::string::npos) << text;
  EXPECT_NE(text.find("kong.yaml:5:5: plugins[0].config.ai_metrics"), std::string::npos) << text;
  auto not_a_map = load("  config: [true]\n");
  EXPECT_FALSE(not_a_map.filter);
  EXPECT_NE(not_a_map.error_text().find("kong.yaml:3:11"), std::string::npos) << not_a_map.error_text();
}

TEST(PrometheusFilter, RecordsIntoTheThreadsShard) {
  auto loaded = load("  config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true}\n");
  ASSERT_TRUE(loaded.filter);
  observability::MetricsShard shard;
  auto config = std::make_shared<int>(0);  // stands for the configuration the request runs with
  auto names = std::make_shared<observability::MetricNames>();
  names->routes = {"a", "b"};
  names->route_services = {"s", "s"};
  shard.begin_epoch(config, names);

  boost::asio::io_context io;
  filter::Exchange x(io.get_executor());
  x.route_index = 1;
  x.config_key = config.get();
  x.status_sent = 200;
  x.bytes_received = 40;
  x.bytes_sent = 100;
  x.timings.start = core::MonoClock::now();
  x.timings.upstream_start = x.timings.start + std::chrono::milliseconds(1);
  x.timings.connected = x.timings.start + std::chrono::milliseconds(2);
  x.timings.first_byte = x.timings.start + std::chrono::milliseconds(10);
  x.timings.end = x.timings.start + std::chrono::milliseconds(12);

  loaded.filter->on_log(x);  // no shard on this thread yet: nothing recorded, no crash
  observability::MetricsShard::set_current(&shard);
  loaded.filter->on_log(x);
  x.answered_by_filter = true;
  x.status_sent = 418;
  loaded.filter->on_log(x);
  observability::MetricsShard::set_current(nullptr);

  auto epochs = shard.collect();
  ASSERT_EQ(epochs.size(), 1u);
  ASSERT_EQ(epochs[0].routes.size(), 2u);
  EXPECT_FALSE(epochs[0].routes[0]);
  const auto& s = *epochs[0].routes[1];
  using observability::ResponseSource;
  using observability::RouteSeries;
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(200, ResponseSource::kService, -1)), 1u);
  EXPECT_EQ(s.requests.at(RouteSeries::request_key(418, ResponseSource::kExit, -1)), 1u);
  EXPECT_EQ(s.request_latency.count, 2u);
  EXPECT_NEAR(s.upstream_latency.sum, 16.0, 0.01);  // 8 ms each: connected → first byte
  // 12 - upstream 8 - receive 2 each (filter::Latencies: the response's transfer is not gateway time)
  EXPECT_NEAR(s.gateway_latency.sum, 4.0, 0.01);
  EXPECT_EQ(s.bandwidth.at(-1).ingress, 80u);
  EXPECT_EQ(s.bandwidth.at(-1).egress, 200u);
}

}  // namespace
}  // namespace portico::filters
